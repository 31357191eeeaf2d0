"""Names of organisations and people, in Chinese with an English (pinyin) rendering.

Organisation names fill the industry templates of catalog.py with a city, a brand word
("华信" / "Huaxin"), a government department or a number; people get a Chinese name whose
pinyin builds their e-mail address. Mobile numbers use the prefixes of the mainland
operators' number ranges, written in the formats source systems really send.
"""

from __future__ import annotations

import random

from telco360_datagen.catalog import IndustrySpec, Region

BRANDS: tuple[tuple[str, str], ...] = (
    ("华信", "Huaxin"),
    ("中科", "Zhongke"),
    ("宏达", "Hongda"),
    ("远航", "Yuanhang"),
    ("鑫源", "Xinyuan"),
    ("金桥", "Jinqiao"),
    ("天成", "Tiancheng"),
    ("恒通", "Hengtong"),
    ("海纳", "Haina"),
    ("博远", "Boyuan"),
    ("瑞丰", "Ruifeng"),
    ("东方", "Dongfang"),
    ("长城", "Changcheng"),
    ("汇智", "Huizhi"),
    ("联创", "Lianchuang"),
    ("光华", "Guanghua"),
    ("正泰", "Zhengtai"),
    ("嘉禾", "Jiahe"),
    ("南方", "Nanfang"),
    ("北辰", "Beichen"),
    ("永信", "Yongxin"),
    ("德润", "Derun"),
    ("安泰", "Antai"),
    ("卓越", "Zhuoyue"),
    ("盛世", "Shengshi"),
    ("万达", "Wanda"),
    ("华美", "Huamei"),
    ("新宇", "Xinyu"),
    ("创维", "Chuangwei"),
    ("星河", "Xinghe"),
    ("蓝海", "Lanhai"),
    ("云图", "Yuntu"),
    ("智联", "Zhilian"),
    ("国泰", "Guotai"),
    ("中联", "Zhonglian"),
    ("华润", "Huarun"),
    ("信达", "Xinda"),
    ("腾飞", "Tengfei"),
    ("银河", "Yinhe"),
    ("金鹰", "Jinying"),
    ("宝丰", "Baofeng"),
    ("和瑞", "Herui"),
    ("丰泽", "Fengze"),
    ("海川", "Haichuan"),
    ("凯达", "Kaida"),
    ("立信", "Lixin"),
    ("宏远", "Hongyuan"),
    ("同济", "Tongji"),
    ("启明", "Qiming"),
    ("润和", "Runhe"),
    ("华科", "Huake"),
    ("泰和", "Taihe"),
    ("锦程", "Jincheng"),
    ("众诚", "Zhongcheng"),
    ("新元", "Xinyuanyi"),
    ("世纪", "Shiji"),
    ("恒瑞", "Hengrui"),
    ("天润", "Tianrun"),
    ("志远", "Zhiyuan"),
    ("中航", "Zhonghang"),
)
ZONES: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("高新区", "High-tech Zone "),
    ("经开区", "Economic Development Zone "),
    ("自贸区", "Free Trade Zone "),
    ("新区", "New Area "),
)
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("交通运输局", "Transport Bureau"),
    ("教育局", "Education Bureau"),
    ("卫生健康委员会", "Health Commission"),
    ("公安局", "Public Security Bureau"),
    ("市场监督管理局", "Market Regulation Administration"),
    ("税务局", "Tax Service"),
    ("人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    ("政务服务数据管理局", "Government Services and Data Administration"),
    ("住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("应急管理局", "Emergency Management Bureau"),
    ("生态环境局", "Ecology and Environment Bureau"),
    ("水务局", "Water Affairs Bureau"),
    ("财政局", "Finance Bureau"),
    ("商务局", "Commerce Bureau"),
)
_CN_DIGITS = "零一二三四五六七八九十"

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("高", "gao"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
)
GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("华", "hua"),
    ("建", "jian"),
    ("国", "guo"),
    ("晓", "xiao"),
    ("文", "wen"),
    ("海", "hai"),
    ("红", "hong"),
    ("玲", "ling"),
    ("鹏", "peng"),
    ("宇", "yu"),
    ("欣", "xin"),
    ("婷", "ting"),
    ("浩", "hao"),
    ("睿", "rui"),
    ("琳", "lin"),
    ("博", "bo"),
)
#: Mobile number prefixes of the mainland operators (first three digits).
MOBILE_PREFIXES: tuple[str, ...] = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "172",
    "178",
    "182",
    "183",
    "184",
    "187",
    "188",
    "195",
    "197",
    "198",  # CMCC
    "130",
    "131",
    "132",
    "145",
    "155",
    "156",
    "166",
    "175",
    "176",
    "185",
    "186",
    "196",  # CU
    "133",
    "149",
    "153",
    "173",
    "177",
    "180",
    "181",
    "189",
    "190",
    "191",
    "193",
    "199",  # CT
    "192",  # CBN
)


def cn_number(n: int) -> str:
    """Chinese numeral for 1-99 (一, 十二, 二十三)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _CN_DIGITS[ones]
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


def organisation_name(
    rng: random.Random, industry: IndustrySpec, region: Region, brand: tuple[str, str] | None = None
) -> tuple[str, str, str]:
    """A (Chinese name, English name, brand pinyin) for an organisation of the industry."""
    cn_t, en_t = industry.templates[rng.randrange(len(industry.templates))]
    brand_cn, brand_en = brand or BRANDS[rng.randrange(len(BRANDS))]
    zone_cn, zone_en = ZONES[rng.randrange(len(ZONES))]
    dept_cn, dept_en = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
    n = rng.randint(1, 40)
    values = {
        "city_cn": region.city_cn,
        "city_en": region.city_en,
        "brand_cn": brand_cn,
        "brand_en": brand_en,
        "zone_cn": zone_cn,
        "zone_en": zone_en,
        "dept_cn": dept_cn,
        "dept_en": dept_en,
        "n": n,
        "n_cn": cn_number(n),
    }
    return cn_t.format(**values), en_t.format(**values), brand_en


def group_names(brand: tuple[str, str], industry: IndustrySpec) -> tuple[str, str]:
    """Names of a group customer's headquarters, e.g. 华信集团有限公司 / Huaxin Group Co., Ltd."""
    if industry.code == "FINANCE":
        return f"{brand[0]}银行股份有限公司", f"{brand[1]} Bank Co., Ltd."
    return f"{brand[0]}集团有限公司", f"{brand[1]} Group Co., Ltd."


def branch_names(group_cn: str, group_en: str, region: Region, industry: IndustrySpec) -> tuple[str, str]:
    """Names of a branch of a group in another city."""
    if industry.code == "FINANCE":
        return (
            f"{group_cn.removesuffix('股份有限公司')}{region.city_cn}分行",
            f"{group_en.removesuffix(' Co., Ltd.')} {region.city_en} Branch",
        )
    return f"{group_cn}{region.city_cn}分公司", f"{group_en} {region.city_en} Branch"


def email_domain(name_en: str, brand_en: str, industry_code: str, region: Region) -> str:
    """The organisation's e-mail domain."""
    city = "".join(ch for ch in region.city_en.lower() if ch.isalpha())
    if industry_code == "GOV":
        return f"{city}.gov.cn"
    if industry_code == "EDU":
        return f"{brand_en.lower()}-{city}.edu.cn"
    return (
        f"{brand_en.lower()}.com.cn" if "Group" in name_en or "Bank" in name_en else f"{brand_en.lower()}-{city}.com.cn"
    )


def person_name(rng: random.Random) -> tuple[str, str, str]:
    """A (Chinese name, surname pinyin, given-name pinyin)."""
    surname_cn, surname_py = SURNAMES[rng.randrange(len(SURNAMES))]
    parts = [GIVEN[rng.randrange(len(GIVEN))] for _ in range(1 if rng.random() < 0.35 else 2)]
    return surname_cn + "".join(p[0] for p in parts), surname_py, "".join(p[1] for p in parts)


def mobile_number(rng: random.Random) -> str:
    """A valid mainland mobile number, 11 digits, without formatting."""
    return MOBILE_PREFIXES[rng.randrange(len(MOBILE_PREFIXES))] + f"{rng.randrange(10**8):08d}"


def format_mobile(rng: random.Random, digits: str) -> str:
    """The number as a source system sends it: mostly E.164, sometimes bare or spaced.

    Bare and spaced forms are valid input that ingest normalises to E.164.
    """
    roll = rng.random()
    if roll < 0.7:
        return "+86" + digits
    if roll < 0.9:
        return digits
    return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
