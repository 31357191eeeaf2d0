"""The industry code list, and the synonyms that are normalised to it.

Operators' systems spell industries many ways ("Government", "政府", "public sector",
"school"). Ingest stores one code per account so that profile, tags and models can group
accounts reliably. A synonym is normalised to its code and reported in the record result's
`normalisations`; anything else is rejected as INVALID_VALUE with the list of codes.

Codes (the contract documents the same list in ingest.proto, AccountMaster.industry):

| code          | meaning                                                        |
|---------------|----------------------------------------------------------------|
| GOV           | Party, government and army bodies, public administration       |
| EDU           | schools, universities, training institutions                   |
| HEALTH        | hospitals, clinics, health administration                      |
| FINANCE       | banks, insurers, securities firms                              |
| MANUFACTURING | factories and industrial firms                                 |
| TRANSPORT     | railways, airports, ports, public transport                    |
| ENERGY        | power grid, oil, gas, mining, water utilities                  |
| RETAIL        | shops, supermarkets, e-commerce, wholesale                     |
| ICT           | software, internet and IT service companies                    |
| MEDIA         | press, broadcasting, culture and sport                         |
| CONSTRUCTION  | construction and real estate                                   |
| AGRICULTURE   | agriculture, forestry, fishing                                 |
| HOSPITALITY   | hotels, restaurants, tourism                                   |
| LOGISTICS     | logistics, express delivery, warehousing                       |
| OTHER         | anything else                                                  |
"""

from __future__ import annotations

import re

INDUSTRY_CODES: tuple[str, ...] = (
    "GOV",
    "EDU",
    "HEALTH",
    "FINANCE",
    "MANUFACTURING",
    "TRANSPORT",
    "ENERGY",
    "RETAIL",
    "ICT",
    "MEDIA",
    "CONSTRUCTION",
    "AGRICULTURE",
    "HOSPITALITY",
    "LOGISTICS",
    "OTHER",
)

# Synonyms as operators' feeds write them, keyed by their folded form (see _fold).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "GOV": (
        "government",
        "gov",
        "govt",
        "public sector",
        "public administration",
        "administration",
        "army",
        "military",
        "party",
        "police",
        "政府",
        "政务",
        "党政军",
        "机关",
        "事业单位",
        "公安",
    ),
    "EDU": (
        "education",
        "school",
        "schools",
        "university",
        "college",
        "training",
        "教育",
        "学校",
        "高校",
        "大学",
        "中学",
        "小学",
    ),
    "HEALTH": (
        "healthcare",
        "health care",
        "medical",
        "hospital",
        "hospitals",
        "clinic",
        "医疗",
        "卫生",
        "医院",
        "卫健",
    ),
    "FINANCE": (
        "financial",
        "financial services",
        "bank",
        "banking",
        "insurance",
        "securities",
        "金融",
        "银行",
        "保险",
        "证券",
    ),
    "MANUFACTURING": (
        "manufacture",
        "industry",
        "industrial",
        "factory",
        "制造",
        "制造业",
        "工业",
        "工厂",
    ),
    "TRANSPORT": (
        "transportation",
        "railway",
        "rail",
        "airport",
        "aviation",
        "port",
        "shipping",
        "交通",
        "交通运输",
        "铁路",
        "机场",
        "港口",
    ),
    "ENERGY": (
        "power",
        "utilities",
        "utility",
        "electricity",
        "oil",
        "gas",
        "mining",
        "water",
        "能源",
        "电力",
        "石油",
        "燃气",
        "水务",
        "矿业",
    ),
    "RETAIL": (
        "commerce",
        "trade",
        "wholesale",
        "e-commerce",
        "ecommerce",
        "shop",
        "supermarket",
        "零售",
        "商贸",
        "批发",
        "电商",
        "商业",
    ),
    "ICT": (
        "it",
        "information technology",
        "internet",
        "software",
        "technology",
        "tech",
        "telecom",
        "信息技术",
        "互联网",
        "软件",
        "科技",
    ),
    "MEDIA": (
        "culture",
        "broadcasting",
        "press",
        "publishing",
        "sport",
        "sports",
        "entertainment",
        "媒体",
        "传媒",
        "文化",
        "广电",
        "体育",
    ),
    "CONSTRUCTION": (
        "real estate",
        "property",
        "building",
        "建筑",
        "建筑业",
        "房地产",
        "地产",
    ),
    "AGRICULTURE": (
        "farming",
        "forestry",
        "fishery",
        "fishing",
        "农业",
        "农林牧渔",
        "林业",
        "渔业",
    ),
    "HOSPITALITY": (
        "hotel",
        "hotels",
        "restaurant",
        "catering",
        "tourism",
        "travel",
        "酒店",
        "餐饮",
        "旅游",
        "住宿",
    ),
    "LOGISTICS": (
        "express",
        "courier",
        "delivery",
        "warehousing",
        "supply chain",
        "物流",
        "快递",
        "仓储",
    ),
    "OTHER": ("others", "misc", "miscellaneous", "unknown", "其他"),
}


def _fold(text: str) -> str:
    """Fold case, '_' / '-' / repeated spaces so "Public_Sector" finds "public sector"."""
    return re.sub(r"[\s_]+", " ", text.strip().casefold())


_LOOKUP: dict[str, str] = {}
for _code, _words in _SYNONYMS.items():
    _LOOKUP[_fold(_code)] = _code
    for _word in _words:
        _LOOKUP[_fold(_word)] = _code


def normalise_industry(value: str) -> str | None:
    """The industry code for a code or a known synonym; None when it is neither."""
    if value in INDUSTRY_CODES:
        return value
    return _LOOKUP.get(_fold(value))


def industry_synonyms() -> dict[str, tuple[str, ...]]:
    """Every accepted synonym per code (for documentation and tests)."""
    return dict(_SYNONYMS)
