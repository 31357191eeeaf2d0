"""Short texts for summaries, notes, needs and lifecycle details (Chinese, as staff write them)."""

from __future__ import annotations

from telco360.common.v1 import common_pb2

PL = common_pb2.ProductLine

COMPLAINTS: dict[int, tuple[str, ...]] = {
    PL.PRODUCT_LINE_VOICE: ("集团V网通话质量差，多次掉话", "总机呼入占线，客户投诉无法接通"),
    PL.PRODUCT_LINE_MOBILE_DATA: ("员工手机上网速度慢", "流量套餐超出费用有异议"),
    PL.PRODUCT_LINE_BROADBAND: ("宽带晚高峰速率不达标", "宽带装机超时未完成"),
    PL.PRODUCT_LINE_DEDICATED_LINE: ("专线时延高，影响视频会议", "专线中断后恢复慢"),
    PL.PRODUCT_LINE_CLOUD: ("云主机性能波动", "云桌面登录卡顿"),
    PL.PRODUCT_LINE_IOT: ("物联网卡批量离线", "物联网卡费用对账不一致"),
    PL.PRODUCT_LINE_ICT_PROJECT: ("项目交付进度延迟", "系统验收问题未闭环"),
}
FAULTS: dict[int, tuple[str, ...]] = {
    PL.PRODUCT_LINE_VOICE: ("中继线路故障", "IMS话机注册失败"),
    PL.PRODUCT_LINE_MOBILE_DATA: ("园区室内信号弱", "基站故障导致无服务"),
    PL.PRODUCT_LINE_BROADBAND: ("光猫故障", "光缆被挖断"),
    PL.PRODUCT_LINE_DEDICATED_LINE: ("专线端口down", "传输设备告警", "SD-WAN隧道中断"),
    PL.PRODUCT_LINE_CLOUD: ("云存储挂载失败", "云主机宕机"),
    PL.PRODUCT_LINE_IOT: ("终端无法注册网络", "APN配置异常"),
    PL.PRODUCT_LINE_ICT_PROJECT: ("业务系统故障", "机房设备故障"),
}
SERVICE_CALLS: tuple[str, ...] = (
    "咨询账单明细",
    "申请开具发票",
    "咨询套餐变更",
    "号码过户咨询",
    "咨询5G专网方案",
    "申请临时提速",
)
VISIT_NOTES: tuple[str, ...] = (
    "例行拜访，了解网络使用情况",
    "拜访信息中心，沟通专线扩容需求",
    "走访客户总部，介绍云桌面方案",
    "陪同技术专家现场勘查",
    "回访故障处理情况",
    "沟通续约事宜",
    "介绍5G专网与物联网应用案例",
)
VISIT_WARNING_NOTES: tuple[str, ...] = (
    "客户对近期网络故障不满",
    "客户表示正在评估其他运营商方案",
    "客户提出降低资费要求",
    "关键联系人变动，需重新建立关系",
)
CALL_NOTES: tuple[str, ...] = (
    "电话沟通账单问题",
    "电话确认项目进度",
    "电话预约拜访时间",
    "电话回访满意度",
    "通知网络割接安排",
)
MEETING_NOTES: tuple[str, ...] = ("年度合作交流会", "信息化规划研讨会", "项目启动会", "季度服务回顾会")
EXHIBITIONS: tuple[str, ...] = (
    "中国国际高新技术成果交易会",
    "世界移动通信大会（上海）",
    "数字中国建设峰会",
    "中国国际信息通信展览会",
)
QUESTIONNAIRES: tuple[str, ...] = ("年度信息化需求问卷", "5G应用需求调研", "云服务使用情况调研")
WEB_NOTES: tuple[str, ...] = ("官网咨询企业宽带", "官网留言咨询专线报价", "在线客服咨询物联网卡")
CALLCENTER_NOTES: tuple[str, ...] = (
    "客户来电咨询账单",
    "客户来电催修故障",
    "客户来电表达不满",
    "客户来电咨询合同到期事宜",
)
NEEDS: dict[int, tuple[str, ...]] = {
    PL.PRODUCT_LINE_DEDICATED_LINE: ("分支机构组网SD-WAN改造", "总部互联网专线扩容至1G"),
    PL.PRODUCT_LINE_CLOUD: ("核心业务系统上云", "全员云桌面替换PC", "数据异地灾备"),
    PL.PRODUCT_LINE_IOT: ("车队定位与油耗监控", "厂区设备联网监测", "智能水表改造"),
    PL.PRODUCT_LINE_ICT_PROJECT: ("智慧校园建设", "智慧医院信息系统升级", "政务一网通办平台", "智能工厂MES改造"),
    PL.PRODUCT_LINE_MOBILE_DATA: ("员工移动办公套餐升级", "5G行业专网试点"),
    PL.PRODUCT_LINE_BROADBAND: ("门店宽带统一接入", "园区千兆光网"),
    PL.PRODUCT_LINE_VOICE: ("统一通信与云总机", "呼叫中心中继扩容"),
}
SURVEY_QUESTIONS: tuple[str, ...] = (
    "network_quality",
    "service_response",
    "account_manager",
    "billing_clarity",
    "value_for_money",
    "overall",
)
#: Systematic offsets of survey questions (customers rate prices lower than managers).
SURVEY_BIAS: dict[str, float] = {
    "network_quality": 0.0,
    "service_response": -0.1,
    "account_manager": 0.2,
    "billing_clarity": 0.0,
    "value_for_money": -0.4,
    "overall": 0.0,
}
TERMINATION_DETAILS: dict[int, str] = {
    1: "客户整体转网至竞争对手",
    2: "客户认为资费偏高，未能达成一致",
    3: "客户对服务质量不满意",
    4: "客户单位注销/撤并",
    5: "客户迁址至服务区域外",
    6: "客户内部采购策略调整",
}
