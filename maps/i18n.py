"""The pages' words: one table of labels in Chinese (the default) and English.

Every label a map page shows is here, keyed by a short name; the page gets the table of its
language (:func:`labels`) and ``wangge.t(key, values)`` in ``density.js`` looks a label up and
fills its ``{name}`` places. :func:`negotiate` picks the language of a request: ``?lang=``
first, then the browser's ``Accept-Language``, else Chinese.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"
#: What the pages' numbers and dates are formatted for (Intl locales).
LOCALES: dict[Lang, str] = {"zh": "zh-CN", "en": "en-GB"}

#: key -> (Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    # levels of the grid hierarchy
    "level.city": ("市", "city"),
    "level.district": ("区", "district"),
    "level.street": ("街道", "street"),
    "level.community": ("社区", "community"),
    "level.grid": ("网格", "grid"),
    "level.microgrid": ("微网格", "micro-grid"),
    # density page: title and layers
    "density.title": ("{place} · 案件密度（按{level}）", "{place} · case density by {level}"),
    "density.places": ("{n}个{level}", "{n} {level}s"),
    "layer.choropleth": ("各单元案件数", "Cases per unit"),
    "layer.heat": ("案件热力", "Case density (heat)"),
    "layer.cases": ("待办案件", "Open cases"),
    "layer.units": ("单元边界", "Unit boundaries"),
    "layer.base": ("底图", "Base map"),
    # popups and tooltips
    "unit.cases": ("{n} 件案件", "{n} cases"),
    "field.code": ("编码", "Code"),
    "field.cases": ("案件数", "Cases"),
    "field.leader": ("网格长", "Leader"),
    "field.phone": ("电话", "Phone"),
    "field.category": ("类别", "Category"),
    "field.status": ("状态", "Status"),
    "field.reported": ("上报时间", "Reported"),
    "field.due": ("办理时限", "Due"),
    "case.title": ("案件 {id}", "Case {id}"),
    "case.overdue": ("已超期", "overdue"),
    "case.open": ("查看案件", "Open case"),
    # legend
    "legend.classes": ("各{level}案件数（{scheme}）", "Cases per {level} ({scheme})"),
    "legend.units": ("{label}（{n} 个单元）", "{label}  ({n} units)"),
    "legend.open": ("待办案件：{n}", "Open cases: {n}"),
    "legend.notDrawn": ("超期：{n}；本图不显示案件点", "overdue: {n}; not drawn on this map"),
    "legend.status": ("{name}（{n}）", "{name}  ({n})"),
    "legend.overdue": ("超期：{n}", "overdue: {n}"),
    "legend.capped": (
        "显示 {shown} / {total} 件待办案件（上限 {cap}）：超期优先，其次最新",
        "Markers show {shown} of {total} open cases (limit {cap}): overdue first, then the newest",
    ),
    "legend.heat": (
        "{drawn} 件有位置的案件，{cells} 个 {cell} 米格",
        "{drawn} located cases in {cells} cells of {cell} m",
    ),
    "legend.data": ("数据", "Data"),
    "legend.totals": (
        "共 {cases} 件案件；其中 {inUnits} 件在这 {units} 个单元内",
        "{cases} cases; {inUnits} in these {units} units",
    ),
    "legend.filters": ("筛选：{filters}", "Filters: {filters}"),
    "legend.none": ("无", "none"),
    "legend.built": ("生成于：{at}", "Built: {at}"),
    "legend.tz": ("时区：{tz}", "Times in {tz}"),
    "title.cases": ("{n} 件案件", "{n} cases"),
    "title.built": ("生成于 {at}", "built {at}"),
    # coverage page
    "coverage.title": (
        "{place} · {minutes}分钟服务圈 {facility}（按{level}）",
        "{place} · {minutes}-minute circles of {facility} by {level}",
    ),
    "layer.coverage.units": ("各单元未覆盖的60岁以上居民", "Uncovered 60+ per unit"),
    "layer.coverage.areas": ("服务范围", "Service areas"),
    "layer.coverage.gaps": ("覆盖缺口", "Coverage gaps"),
    "layer.coverage.facilities": ("服务设施", "Facilities"),
    "layer.coverage.sites": ("建议新址", "Suggested sites"),
    "cov.code": ("编码", "Code"),
    "cov.pop60": ("60岁以上居民", "Residents 60+"),
    "cov.cov60": ("已覆盖60岁以上", "Covered 60+"),
    "cov.unc60": ("未覆盖60岁以上", "Uncovered 60+"),
    "cov.share": ("覆盖率", "Share covered"),
    "cov.gapIn": ("{unit}的缺口", "Gap in {unit}"),
    "cov.outside": ("不在任何服务范围内", "outside every service area"),
    "cov.unit": ("单元", "Unit"),
    "cov.uncAll": ("未覆盖（所有年龄）", "Uncovered, all ages"),
    "cov.area": ("面积", "Area"),
    "cov.whole": ("整个单元", "Whole unit"),
    "cov.yes": ("是", "yes"),
    "cov.part": ("否，一部分", "no, a part"),
    "cov.classes": (
        "各{level}不在任何服务范围内的60岁以上居民（{scheme}）",
        "Residents 60+ outside every service area, per {level} ({scheme})",
    ),
    # the classing schemes of the choropleths (maps.classes), as the legends name them
    "scheme.quantiles": ("分位数", "quantiles"),
    "scheme.each value": ("逐值", "each value"),
    "scheme.natural_breaks": ("自然断点", "natural breaks"),
    "scheme.fisher_jenks": ("最优自然断点", "Fisher-Jenks"),
    "scheme.fisher_jenks_sampled": ("抽样最优自然断点", "Fisher-Jenks, sampled"),
    "scheme.equal_interval": ("等间距", "equal intervals"),
    "scheme.headtail_breaks": ("头尾断点", "head/tail breaks"),
    "scheme.jenks_caspall": ("詹克斯-卡斯帕尔分级", "Jenks-Caspall"),
    "scheme.max_breaks": ("最大断点", "maximum breaks"),
    "scheme.std_mean": ("标准差", "standard deviations"),
    "scheme.percentiles": ("百分位数", "percentiles"),
    "cov.facility": ("设施", "facility"),
    "cov.population": ("人口数据：{source}", "population: {source}"),
    "cov.population.units": ("各单元登记人口", "per unit"),
    "cov.population.points": ("居民点位", "resident points"),
    "cov.population.none": ("无", "none"),
    "cov.count": ("{name}：{n}", "{name}: {n}"),
    "cov.tipUncovered": ("{n} 名60岁以上居民未覆盖", "{n} residents 60+ uncovered"),
    "cov.type": ("类型", "Type"),
    "cov.capacity": ("容量", "Capacity"),
    "cov.siteTip": ("新址 {rank}：+{n} 名60岁以上居民", "Site {rank}: +{n} residents 60+"),
    "cov.site": ("建议新址 {rank}", "Suggested site {rank}"),
    "cov.new": ("新", "new"),
    "cov.newly60": ("新覆盖60岁以上", "Newly covered 60+"),
    "cov.newlyAll": ("新覆盖（所有年龄）", "Newly covered, all ages"),
    "cov.cumulative60": ("累计60岁以上", "Cumulative 60+"),
    "cov.shareUncovered": ("占未覆盖60岁以上", "Share of uncovered 60+"),
    "cov.location": ("位置", "Location"),
    "cov.metres": ("{n} 米", "{n} m"),
    "cov.hectares": ("{n} 公顷", "{n} ha"),
    "cov.squareMetres": ("{n} 平方米", "{n} m²"),
    "cov.walk": (
        "{minutes} 分钟 × {speed} 米/分钟 = {distance}",
        "{minutes} min × {speed} m/min = {distance}",
    ),
    "cov.buffer": ("街道两侧各 {n} 米", "{n} m either side of a street"),
    "cov.mode.circle": ("直线距离", "circle"),
    "cov.mode.network": ("沿街道路网", "street network"),
    "cov.notDrawn": ("{n} 处无位置，未绘制", "{n} without a location, not drawn"),
    "cov.sitesGain": ("+{n} 名60岁以上居民", "+{n} residents 60+"),
    "cov.sitesGainShare": (
        "+{n} 名60岁以上居民（占未覆盖的 {share}）",
        "+{n} residents 60+ ({share} of the uncovered)",
    ),
    "cov.outsideLevel": (
        "{n} 名60岁以上居民不在任何{level}内（未计入合计）",
        "{n} residents 60+ in no {level} (not in these totals)",
    ),
    "cov.serviceArea": ("服务范围：{text}", "service area: {text}"),
    "cov.pieces": ("{name}：{n} 块", "{name}: {n} pieces"),
    "cov.gapResidents": (
        "{n} 名60岁以上居民不在任何服务范围内",
        "{n} residents 60+ outside every service area",
    ),
    "cov.totals": ("合计", "Totals"),
    "cov.covered60": ("60岁以上已覆盖：{text}", "60+ covered: {text}"),
    "cov.uncovered60": ("60岁以上未覆盖：{n}", "60+ uncovered: {n}"),
    "cov.allAges": (
        "所有年龄已覆盖：{covered} / {residents}",
        "All ages covered: {covered} of {residents}",
    ),
    "cov.of": ("{part} / {whole}（{share}）", "{part} of {whole} ({share})"),
    "cov.units": ("{n} 个{level}单元", "{n} {level} units"),
    "cov.parameters": ("参数：{text}", "Parameters: {text}"),
    "cov.titleCovered": ("60岁以上已覆盖 {text}", "60+ covered {text}"),
    # sign-in page
    "signin.title": ("网格化管理 · 登录", "Wangge · sign in"),
    "signin.heading": ("网格化管理 · 一张图", "Wangge · grid management"),
    "signin.key": ("API 密钥", "API key"),
    "signin.submit": ("登录", "Sign in"),
    "signin.wrong": ("密钥无效或已吊销。", "Unknown or revoked key."),
    "lang.other": ("English", "中文"),
    # the caption of the density page's filter
    "filter.all": ("全部案件", "all cases"),
    "filter.category": ("类别：{names}", "category: {names}"),
    "filter.status": ("状态：{names}", "status: {names}"),
    "filter.since": ("自 {time} 起", "since {time}"),
    "filter.until": ("至 {time}", "until {time}"),
    "filter.join": ("；", "; "),
    "filter.list": ("、", ", "),
    # error pages a browser sees on a page route (the API's clients keep the JSON body)
    "error.title": ("{status} · 网格化管理", "{status} · Wangge"),
    "error.401": ("需要登录", "Sign-in required"),
    "error.401.text": ("请先登录再查看此页面。", "Please sign in to see this page."),
    "error.403": ("无权访问", "Not allowed"),
    "error.403.text": (
        "您的角色或辖区无权查看此页面。",
        "Your role or your area does not allow this page.",
    ),
    "error.404": ("页面未找到", "Page not found"),
    "error.404.text": (
        "您要找的页面或对象不存在，或对您不可见。",
        "What you asked for does not exist, or is not visible to you.",
    ),
    "error.422": ("请求有误", "Invalid request"),
    "error.422.text": (
        "页面的参数有误，请检查链接中的参数。",
        "A parameter of the page is invalid: please check the link.",
    ),
    "error.other": ("出错了", "Something went wrong"),
    "error.other.text": ("无法显示此页面。", "This page cannot be shown."),
    "error.details": ("技术信息", "Technical details"),
    "error.back": ("返回案件密度图", "Back to the density map"),
    "error.signin": ("登录", "Sign in"),
}


def labels(lang: Lang) -> dict[str, str]:
    """The table in one language.

    Example
    -------
    >>> labels("zh")["layer.heat"], labels("en")["layer.heat"]
    ('案件热力', 'Case density (heat)')
    """
    column = LANGS.index(lang)
    return {key: pair[column] for key, pair in LABELS.items()}


def label(lang: Lang, key: str, **values: object) -> str:
    """One label with its ``{name}`` places filled.

    Example
    -------
    >>> label("zh", "unit.cases", n=3), label("en", "unit.cases", n=3)
    ('3 件案件', '3 cases')
    """
    text = LABELS[key][LANGS.index(lang)]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def level_name(lang: Lang, level: str) -> str:
    """A level in words (a level not in the table as it is written)."""
    return _named(lang, "level", level)


def scheme_name(lang: Lang, scheme: str) -> str:
    """A classing scheme in words (one not in the table as it is written).

    >>> scheme_name("zh", "quantiles"), scheme_name("en", "natural_breaks")
    ('分位数', 'natural breaks')
    """
    return _named(lang, "scheme", scheme)


def _named(lang: Lang, kind: str, value: str) -> str:
    pair = LABELS.get(f"{kind}.{value}")
    return pair[LANGS.index(lang)] if pair else value


def negotiate(asked: str | None, accept_language: str | None) -> Lang:
    """The language of a page: ``asked`` (``?lang=``) if it is one of ours, else the first
    of the browser's ``Accept-Language`` we have (by quality), else Chinese.

    Example
    -------
    >>> negotiate(None, "en-US,en;q=0.9,zh-CN;q=0.8"), negotiate("zh", "en"), negotiate(None, "")
    ('en', 'zh', 'zh')
    >>> negotiate(None, "fr;q=0.9, zh-TW;q=0.5, en;q=0.3")
    'zh'
    """
    ours: dict[str, Lang] = {lang: lang for lang in LANGS}
    if asked in ours:
        return ours[asked]
    ranked: list[tuple[float, int, Lang]] = []
    for order, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in ours and quality > 0:
            ranked.append((-quality, order, ours[primary]))
    return min(ranked)[2] if ranked else DEFAULT_LANG
