"""Static catalogue of the key-account market the generator draws from.

Industries use the ingest code list (GOV ... OTHER); each carries its share of accounts,
its effect on churn propensity, its revenue scale, which product lines its accounts tend
to buy and its seasonality. Regions pair "Province/City" with the administrative division
code used in unified social credit codes and the IANA time zone of the site. Product lines
carry units, plausible unit prices and product codes. Tiers follow the operators' six-tier
model (diamond ... crystal), assigned by cumulative revenue share.
"""

from __future__ import annotations

from dataclasses import dataclass

from telco360.common.v1 import common_pb2

PL = common_pb2.ProductLine
TIER = common_pb2.AccountTier


@dataclass(frozen=True)
class ProductSpec:
    """A product line as the generator bills it."""

    line: int
    key: str
    unit: str
    codes: tuple[str, ...]
    #: Monthly price of one line / seat / circuit, yuan (low, high).
    unit_fee_yuan: tuple[float, float]
    #: Usage per line and month in ``unit`` (low, high).
    usage_per_line: tuple[float, float]
    #: Typical share of an account's spend when it holds the line.
    weight: float
    #: Month-to-month noise of the fee (log-normal sigma).
    noise: float
    #: Extra monthly growth of the line (cloud and IoT grow faster).
    growth: float
    #: Whether usage and fee follow the industry's seasonality.
    seasonal: bool


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        PL.PRODUCT_LINE_VOICE,
        "voice",
        "min",
        ("VPMN-GROUP", "SIP-TRUNK-30", "IMS-PBX"),
        (18.0, 60.0),
        (150.0, 700.0),
        0.12,
        0.05,
        -0.004,
        True,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_MOBILE_DATA,
        "mobile_data",
        "GB",
        ("MB-ENT-30G", "MB-ENT-100G", "MB-5G-PRO"),
        (58.0, 199.0),
        (8.0, 70.0),
        0.25,
        0.05,
        0.002,
        True,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_BROADBAND,
        "broadband",
        "Mbps",
        ("BB-500M", "BB-1000M", "BB-FTTR-2000M"),
        (300.0, 2500.0),
        (300.0, 1000.0),
        0.12,
        0.01,
        0.0,
        False,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_DEDICATED_LINE,
        "dedicated_line",
        "Mbps",
        ("DL-100M", "DL-1G", "SDWAN-50M", "MPLS-VPN-20M"),
        (1800.0, 18000.0),
        (20.0, 1000.0),
        0.22,
        0.01,
        0.001,
        False,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_CLOUD,
        "cloud",
        "vCPU-month",
        ("CLOUD-ECS", "CLOUD-DESKTOP", "CLOUD-OSS"),
        (280.0, 1600.0),
        (2.0, 16.0),
        0.14,
        0.04,
        0.012,
        False,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_IOT,
        "iot",
        "connection",
        ("IOT-NB", "IOT-CAT1", "IOT-5G-REDCAP"),
        (2.0, 15.0),
        (0.85, 1.0),
        0.08,
        0.03,
        0.010,
        False,
    ),
    ProductSpec(
        PL.PRODUCT_LINE_ICT_PROJECT,
        "ict_project",
        "project-month",
        ("ICT-SMART-CAMPUS", "ICT-EGOV", "ICT-HIS", "ICT-SMART-FACTORY"),
        (20000.0, 400000.0),
        (1.0, 1.0),
        0.30,
        0.0,
        0.0,
        False,
    ),
)
PRODUCT_BY_LINE: dict[int, ProductSpec] = {p.line: p for p in PRODUCTS}
PRODUCT_BY_KEY: dict[str, ProductSpec] = {p.key: p for p in PRODUCTS}

# Probability that an account of an industry holds each product line (ICT projects are
# drawn separately as time-limited projects).
_BASE_HOLDING = {
    "voice": 0.8,
    "mobile_data": 0.9,
    "broadband": 0.7,
    "dedicated_line": 0.5,
    "cloud": 0.3,
    "iot": 0.15,
    "ict_project": 0.12,
}


def _holding(**overrides: float) -> dict[str, float]:
    return {**_BASE_HOLDING, **overrides}


_FLAT = {m: 1.0 for m in range(1, 13)}
_NEW_YEAR_DIP = {**_FLAT, 1: 0.95, 2: 0.82, 3: 0.97}


@dataclass(frozen=True)
class IndustrySpec:
    """An industry code with the generator's behaviour for its accounts."""

    code: str
    weight: float
    churn_effect: float
    scale: float
    holding: dict[str, float]
    season: dict[int, float]
    #: Registration authority + organisation category (first two characters of the
    #: credit code), e.g. "91" enterprise, "11" government body, "12" public institution.
    credit_prefixes: tuple[str, ...]
    #: Name templates (Chinese, English); see names.py for the placeholders.
    templates: tuple[tuple[str, str], ...]
    #: Whether accounts of the industry form group customers (HQ with branches).
    groups: bool = False


INDUSTRIES: tuple[IndustrySpec, ...] = (
    IndustrySpec(
        "GOV",
        0.09,
        -0.6,
        1.2,
        _holding(dedicated_line=0.85, cloud=0.45, ict_project=0.35),
        {**_NEW_YEAR_DIP, 10: 0.93},
        ("11",),
        (("{city_cn}{zone_cn}{dept_cn}", "{city_en} {zone_en}{dept_en}"),),
    ),
    IndustrySpec(
        "EDU",
        0.08,
        -0.4,
        0.8,
        _holding(broadband=0.9, dedicated_line=0.6, ict_project=0.3),
        {**_FLAT, 1: 0.8, 2: 0.6, 7: 0.65, 8: 0.6, 9: 1.08},
        ("12", "52"),
        (
            ("{city_cn}第{n_cn}中学", "{city_en} No. {n} Middle School"),
            ("{city_cn}{brand_cn}职业技术学院", "{city_en} {brand_en} Vocational and Technical College"),
            ("{city_cn}{brand_cn}实验学校", "{city_en} {brand_en} Experimental School"),
        ),
    ),
    IndustrySpec(
        "HEALTH",
        0.07,
        -0.3,
        1.0,
        _holding(dedicated_line=0.7, cloud=0.4, ict_project=0.3),
        {**_FLAT, 1: 1.06, 2: 0.95, 12: 1.05},
        ("12",),
        (
            ("{city_cn}第{n_cn}人民医院", "{city_en} No. {n} People's Hospital"),
            ("{city_cn}{brand_cn}医院", "{city_en} {brand_en} Hospital"),
            ("{city_cn}{brand_cn}社区卫生服务中心", "{city_en} {brand_en} Community Health Centre"),
        ),
    ),
    IndustrySpec(
        "FINANCE",
        0.07,
        0.0,
        1.7,
        _holding(dedicated_line=0.9, cloud=0.5, broadband=0.5),
        {**_NEW_YEAR_DIP, 12: 1.04},
        ("91",),
        (
            ("{city_cn}{brand_cn}农村商业银行", "{city_en} {brand_en} Rural Commercial Bank"),
            ("{brand_cn}证券{city_cn}营业部", "{brand_en} Securities {city_en} Branch Office"),
            ("{city_cn}{brand_cn}融资担保有限公司", "{city_en} {brand_en} Financing Guarantee Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "MANUFACTURING",
        0.16,
        0.2,
        1.0,
        _holding(iot=0.45, dedicated_line=0.55, ict_project=0.12),
        _NEW_YEAR_DIP,
        ("91",),
        (
            ("{city_cn}{brand_cn}精密制造有限公司", "{city_en} {brand_en} Precision Manufacturing Co., Ltd."),
            ("{city_cn}{brand_cn}电子科技有限公司", "{city_en} {brand_en} Electronics Technology Co., Ltd."),
            ("{city_cn}{brand_cn}汽车零部件有限公司", "{city_en} {brand_en} Auto Parts Co., Ltd."),
            ("{city_cn}{brand_cn}新材料股份有限公司", "{city_en} {brand_en} New Materials Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "TRANSPORT",
        0.05,
        -0.1,
        1.2,
        _holding(iot=0.5, dedicated_line=0.6),
        {**_FLAT, 1: 1.1, 2: 1.15, 7: 1.06, 8: 1.06, 10: 1.08},
        ("91",),
        (
            ("{city_cn}{brand_cn}客运有限公司", "{city_en} {brand_en} Passenger Transport Co., Ltd."),
            ("{city_cn}{brand_cn}港务有限公司", "{city_en} {brand_en} Port Co., Ltd."),
            ("{city_cn}{brand_cn}公交集团有限公司", "{city_en} {brand_en} Bus Group Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "ENERGY",
        0.04,
        -0.3,
        1.5,
        _holding(iot=0.55, dedicated_line=0.7),
        {**_FLAT, 1: 1.05, 7: 1.05, 8: 1.06, 12: 1.05},
        ("91",),
        (
            ("{city_cn}{brand_cn}燃气有限公司", "{city_en} {brand_en} Gas Co., Ltd."),
            ("{city_cn}{brand_cn}新能源有限公司", "{city_en} {brand_en} New Energy Co., Ltd."),
            ("{city_cn}{brand_cn}电力工程有限公司", "{city_en} {brand_en} Electric Power Engineering Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "RETAIL",
        0.09,
        0.5,
        0.8,
        _holding(broadband=0.85, cloud=0.35, iot=0.25),
        {**_FLAT, 1: 1.05, 2: 0.9, 6: 1.05, 11: 1.18, 12: 1.12},
        ("91", "92"),
        (
            ("{city_cn}{brand_cn}商贸有限公司", "{city_en} {brand_en} Trading Co., Ltd."),
            ("{city_cn}{brand_cn}百货有限公司", "{city_en} {brand_en} Department Store Co., Ltd."),
            ("{city_cn}{brand_cn}连锁超市有限公司", "{city_en} {brand_en} Supermarket Chain Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "ICT",
        0.07,
        0.4,
        1.1,
        _holding(cloud=0.75, dedicated_line=0.7, ict_project=0.1),
        {**_NEW_YEAR_DIP, 11: 1.04},
        ("91",),
        (
            ("{city_cn}{brand_cn}信息技术有限公司", "{city_en} {brand_en} Information Technology Co., Ltd."),
            ("{city_cn}{brand_cn}软件有限公司", "{city_en} {brand_en} Software Co., Ltd."),
            ("{city_cn}{brand_cn}数据科技有限公司", "{city_en} {brand_en} Data Technology Co., Ltd."),
        ),
    ),
    IndustrySpec(
        "MEDIA",
        0.03,
        0.3,
        0.9,
        _holding(dedicated_line=0.65, cloud=0.5),
        {**_FLAT, 2: 1.08, 10: 1.05},
        ("91",),
        (
            ("{city_cn}{brand_cn}文化传媒有限公司", "{city_en} {brand_en} Culture Media Co., Ltd."),
            ("{city_cn}{brand_cn}广播电视网络有限公司", "{city_en} {brand_en} Broadcasting Network Co., Ltd."),
        ),
    ),
    IndustrySpec(
        "CONSTRUCTION",
        0.06,
        0.3,
        0.9,
        _holding(iot=0.3, broadband=0.6),
        {**_FLAT, 1: 0.85, 2: 0.7, 3: 0.95, 7: 0.95, 8: 0.95},
        ("91",),
        (
            ("{city_cn}{brand_cn}建设工程有限公司", "{city_en} {brand_en} Construction Engineering Co., Ltd."),
            (
                "{city_cn}{brand_cn}建筑设计研究院有限公司",
                "{city_en} {brand_en} Architectural Design Institute Co., Ltd.",
            ),
        ),
        groups=True,
    ),
    IndustrySpec(
        "AGRICULTURE",
        0.03,
        0.1,
        0.5,
        _holding(iot=0.4, dedicated_line=0.2, cloud=0.15),
        {**_FLAT, 4: 1.05, 5: 1.08, 9: 1.08, 10: 1.1, 12: 0.93},
        ("91", "93"),
        (
            ("{city_cn}{brand_cn}农业发展有限公司", "{city_en} {brand_en} Agricultural Development Co., Ltd."),
            ("{city_cn}{brand_cn}生态农业专业合作社", "{city_en} {brand_en} Eco-Agriculture Cooperative"),
        ),
    ),
    IndustrySpec(
        "HOSPITALITY",
        0.04,
        0.6,
        0.6,
        _holding(broadband=0.9, dedicated_line=0.3),
        {**_FLAT, 1: 0.9, 2: 1.1, 5: 1.05, 7: 1.12, 8: 1.15, 10: 1.15, 11: 0.9},
        ("91",),
        (
            ("{city_cn}{brand_cn}酒店管理有限公司", "{city_en} {brand_en} Hotel Management Co., Ltd."),
            ("{city_cn}{brand_cn}旅游发展有限公司", "{city_en} {brand_en} Tourism Development Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "LOGISTICS",
        0.06,
        0.4,
        0.9,
        _holding(iot=0.6, mobile_data=0.95),
        {**_FLAT, 1: 1.05, 2: 0.78, 6: 1.05, 11: 1.2, 12: 1.1},
        ("91",),
        (
            ("{city_cn}{brand_cn}物流有限公司", "{city_en} {brand_en} Logistics Co., Ltd."),
            ("{city_cn}{brand_cn}供应链管理有限公司", "{city_en} {brand_en} Supply Chain Management Co., Ltd."),
            ("{city_cn}{brand_cn}冷链物流有限公司", "{city_en} {brand_en} Cold Chain Logistics Co., Ltd."),
        ),
        groups=True,
    ),
    IndustrySpec(
        "OTHER",
        0.06,
        0.3,
        0.7,
        _holding(),
        _FLAT,
        ("91", "31"),
        (
            ("{city_cn}{brand_cn}物业管理有限公司", "{city_en} {brand_en} Property Management Co., Ltd."),
            ("{city_cn}{brand_cn}会展服务有限公司", "{city_en} {brand_en} Exhibition Services Co., Ltd."),
            ("{city_cn}{brand_cn}律师事务所", "{city_en} {brand_en} Law Firm"),
        ),
    ),
)
INDUSTRY_BY_CODE: dict[str, IndustrySpec] = {i.code: i for i in INDUSTRIES}


@dataclass(frozen=True)
class Region:
    """A region as ingest expects it ("Province/City") with its codes."""

    region: str
    division_code: str
    city_cn: str
    city_en: str
    time_zone: str
    weight: float


REGIONS: tuple[Region, ...] = (
    Region("Guangdong/Shenzhen", "440300", "深圳", "Shenzhen", "Asia/Shanghai", 0.10),
    Region("Guangdong/Guangzhou", "440100", "广州", "Guangzhou", "Asia/Shanghai", 0.09),
    Region("Guangdong/Dongguan", "441900", "东莞", "Dongguan", "Asia/Shanghai", 0.05),
    Region("Guangdong/Foshan", "440600", "佛山", "Foshan", "Asia/Shanghai", 0.04),
    Region("Beijing/Beijing", "110105", "北京", "Beijing", "Asia/Shanghai", 0.08),
    Region("Shanghai/Shanghai", "310115", "上海", "Shanghai", "Asia/Shanghai", 0.08),
    Region("Tianjin/Tianjin", "120116", "天津", "Tianjin", "Asia/Shanghai", 0.03),
    Region("Zhejiang/Hangzhou", "330106", "杭州", "Hangzhou", "Asia/Shanghai", 0.06),
    Region("Zhejiang/Ningbo", "330212", "宁波", "Ningbo", "Asia/Shanghai", 0.03),
    Region("Jiangsu/Nanjing", "320104", "南京", "Nanjing", "Asia/Shanghai", 0.05),
    Region("Jiangsu/Suzhou", "320505", "苏州", "Suzhou", "Asia/Shanghai", 0.05),
    Region("Sichuan/Chengdu", "510107", "成都", "Chengdu", "Asia/Shanghai", 0.05),
    Region("Chongqing/Chongqing", "500103", "重庆", "Chongqing", "Asia/Shanghai", 0.04),
    Region("Hubei/Wuhan", "420106", "武汉", "Wuhan", "Asia/Shanghai", 0.04),
    Region("Shaanxi/Xi'an", "610113", "西安", "Xi'an", "Asia/Shanghai", 0.03),
    Region("Shandong/Qingdao", "370202", "青岛", "Qingdao", "Asia/Shanghai", 0.03),
    Region("Fujian/Xiamen", "350203", "厦门", "Xiamen", "Asia/Shanghai", 0.03),
    Region("Hunan/Changsha", "430104", "长沙", "Changsha", "Asia/Shanghai", 0.03),
    Region("Henan/Zhengzhou", "410105", "郑州", "Zhengzhou", "Asia/Shanghai", 0.03),
    Region("Yunnan/Kunming", "530102", "昆明", "Kunming", "Asia/Shanghai", 0.02),
    Region("Xinjiang/Urumqi", "650102", "乌鲁木齐", "Urumqi", "Asia/Urumqi", 0.01),
    Region("Hainan/Haikou", "460106", "海口", "Haikou", "Asia/Shanghai", 0.01),
)

#: Tiers by cumulative share of revenue, highest first: the accounts that bring the first
#: 20 % of revenue are diamond, the next 20 % emerald, and so on.
TIER_CUTS: tuple[tuple[float, int], ...] = (
    (0.20, TIER.ACCOUNT_TIER_DIAMOND),
    (0.40, TIER.ACCOUNT_TIER_EMERALD),
    (0.60, TIER.ACCOUNT_TIER_PLATINUM),
    (0.75, TIER.ACCOUNT_TIER_SAPPHIRE),
    (0.90, TIER.ACCOUNT_TIER_GOLD),
    (1.01, TIER.ACCOUNT_TIER_CRYSTAL),
)
TIER_NAMES: dict[int, str] = {
    TIER.ACCOUNT_TIER_DIAMOND: "diamond",
    TIER.ACCOUNT_TIER_EMERALD: "emerald",
    TIER.ACCOUNT_TIER_PLATINUM: "platinum",
    TIER.ACCOUNT_TIER_SAPPHIRE: "sapphire",
    TIER.ACCOUNT_TIER_GOLD: "gold",
    TIER.ACCOUNT_TIER_CRYSTAL: "crystal",
}
#: Effect of the tier on churn propensity (top tiers get dedicated service and stay).
TIER_CHURN_EFFECT: dict[int, float] = {1: -0.8, 2: -0.5, 3: -0.3, 4: 0.0, 5: 0.2, 6: 0.4}
#: Account-manager visits per month by tier (service levels are tiered).
TIER_VISIT_RATE: dict[int, float] = {1: 2.2, 2: 1.5, 3: 1.0, 4: 0.7, 5: 0.45, 6: 0.25}
#: Accounts per manager by tier (diamond accounts get a nearly dedicated manager).
TIER_ACCOUNTS_PER_MANAGER: dict[int, int] = {1: 4, 2: 10, 3: 20, 4: 35, 5: 50, 6: 80}

#: Competitors of the (unnamed) operator and the product lines they sell.
COMPETITORS: tuple[tuple[str, tuple[int, ...]], ...] = (
    (
        "China Unicom",
        (
            PL.PRODUCT_LINE_VOICE,
            PL.PRODUCT_LINE_MOBILE_DATA,
            PL.PRODUCT_LINE_BROADBAND,
            PL.PRODUCT_LINE_DEDICATED_LINE,
            PL.PRODUCT_LINE_IOT,
        ),
    ),
    (
        "China Telecom",
        (
            PL.PRODUCT_LINE_VOICE,
            PL.PRODUCT_LINE_MOBILE_DATA,
            PL.PRODUCT_LINE_BROADBAND,
            PL.PRODUCT_LINE_DEDICATED_LINE,
            PL.PRODUCT_LINE_CLOUD,
        ),
    ),
    ("China Broadnet", (PL.PRODUCT_LINE_MOBILE_DATA, PL.PRODUCT_LINE_BROADBAND)),
    ("Alibaba Cloud", (PL.PRODUCT_LINE_CLOUD,)),
    ("Tencent Cloud", (PL.PRODUCT_LINE_CLOUD,)),
    ("Huawei Cloud", (PL.PRODUCT_LINE_CLOUD, PL.PRODUCT_LINE_ICT_PROJECT)),
)
