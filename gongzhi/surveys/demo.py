"""Surveys' part of the demo, through the actions (so frames, versions, review states and audit are real).

1. 航海小区改造后满意度调查 — closed; nearly every household answered (door to door, hotline, paper with scans),
   so all three rates are above 92% with their 95% intervals' lower bounds above it too; participation also
   counts the ballots of the property-management vote that followed the works (when the voting demo is loaded).
   Results are published (the free-text question is not).
2. 豪邦花园改造项目知晓度调查 — open, part way: some buildings well covered, others under the 40% quota, so the
   progress page shows workers where to go door to door.
3. 桃源路47号院改造需求征集（一征） — open, a needs survey with skip logic, a repeat group (each older resident:
   age, stairs, care needed) and a few answers so far.
4. 二七区企业岗位需求征集 — open, to every enterprise and work unit registered in the district (respondents:
   organisations), with a repeat group per post offered; a few answered through workers and the hotline.
Idempotent: a survey whose title exists is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from django.apps import apps
from django.db import transaction

from gongzhi.deliberation.demo import TAOYUAN_MATTER
from gongzhi.deliberation.models import Matter
from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, Residence, UnitSet
from gongzhi.surveys import actions, selectors
from gongzhi.surveys.models import Response, Survey, SurveyHousehold
from gongzhi.voting.demo import PROPERTY_VOTE
from gongzhi.voting.models import Vote

HANGHAI = "航海小区改造后满意度调查"
HAOBANG = "豪邦花园改造项目知晓度调查"
TAOYUAN = "桃源路47号院改造需求征集（一征）"
JOBS = "二七区企业岗位需求征集（高校毕业生）"

AWARE = {
    "key": "aware",
    "type": "single",
    "label": "您是否知道本小区实施了老旧小区改造？",
    "label_en": "Do you know that your compound has been renovated?",
    "required": True,
    "measures": "awareness",
    "choices": [
        {"code": "yes", "label": "知道", "label_en": "Yes", "aware": True},
        {"code": "no", "label": "不知道", "label_en": "No", "aware": False},
    ],
}
HANGHAI_QUESTIONS = [
    AWARE,
    {
        "key": "satisfied",
        "type": "rating",
        "label": "您对本次改造的总体评价",
        "label_en": "Overall, how satisfied are you with the renovation?",
        "required": True,
        "measures": "satisfaction",
        "max": 5,
        "na": True,
    },
    {
        "key": "areas",
        "type": "matrix",
        "label": "请分别评价",
        "label_en": "Please rate each",
        "rows": [
            {"code": "content", "label": "改造内容", "label_en": "What was done"},
            {"code": "process", "label": "过程管理", "label_en": "How the works were run"},
            {"code": "upkeep", "label": "长效管理", "label_en": "Upkeep since"},
        ],
        "choices": [
            {"code": "good", "label": "满意", "label_en": "Satisfied"},
            {"code": "fair", "label": "一般", "label_en": "Fair"},
            {"code": "poor", "label": "不满意", "label_en": "Dissatisfied"},
        ],
    },
    {
        "key": "unhappy",
        "type": "multiple",
        "label": "您不满意的方面",
        "label_en": "What are you dissatisfied with?",
        "relevant": "${satisfied} <= 3",
        "required": True,
        "choices": [
            {"code": "quality", "label": "施工质量", "label_en": "Quality"},
            {"code": "noise", "label": "施工扰民", "label_en": "Disturbance"},
            {"code": "slow", "label": "工期太长", "label_en": "Too slow"},
        ],
    },
    {"key": "note", "type": "text", "label": "其他意见和建议", "label_en": "Anything else"},
]
HAOBANG_QUESTIONS = [
    {**AWARE, "label": "您是否知道豪邦花园四个院连片改造（路院同治）的计划？", "label_en": "Do you know of the plan?"},
    {
        "key": "source",
        "type": "multiple",
        "label": "您是从哪里知道的？",
        "label_en": "Where did you hear of it?",
        "relevant": "${aware} = 'yes'",
        "choices": [
            {"code": "notice", "label": "公示栏", "label_en": "Notice board"},
            {"code": "wechat", "label": "微信群", "label_en": "WeChat group"},
            {"code": "visit", "label": "入户宣传", "label_en": "Home visit"},
            {"code": "meeting", "label": "居民会议", "label_en": "Residents' meeting"},
        ],
    },
    {
        "key": "age",
        "type": "number",
        "label": "户主年龄",
        "label_en": "Age of the household head",
        "min": 18,
        "max": 120,
    },
]
TAOYUAN_QUESTIONS = [
    {
        "key": "needs",
        "type": "multiple",
        "label": "您希望本院改造哪些内容？（最多选三项）",
        "label_en": "What should the renovation cover? (at most three)",
        "required": True,
        "constraint": "count(.) <= 3",
        "constraint_message": "最多选三项",
        "constraint_message_en": "choose at most three",
        "choices": [
            {"code": "roof", "label": "屋面防水", "label_en": "Roof"},
            {"code": "pipes", "label": "雨污分流、管网", "label_en": "Drains and pipes"},
            {"code": "lift", "label": "加装电梯", "label_en": "Lift"},
            {"code": "parking", "label": "停车位", "label_en": "Parking"},
            {"code": "charging", "label": "电动车充电", "label_en": "E-bike charging"},
            {"code": "green", "label": "绿化和休闲", "label_en": "Greenery"},
        ],
    },
    {
        "key": "floor",
        "type": "number",
        "label": "您家住几楼？",
        "label_en": "Which floor do you live on?",
        "relevant": "selected(${needs}, 'lift')",
        "min": 1,
        "max": 30,
    },
    {
        "key": "pay",
        "type": "single",
        "label": "若加装电梯，您是否愿意按楼层分摊费用？",
        "label_en": "Would you share the lift's cost by floor?",
        "relevant": "selected(${needs}, 'lift')",
        "choices": [
            {"code": "yes", "label": "愿意", "label_en": "Yes"},
            {"code": "no", "label": "不愿意", "label_en": "No"},
            {"code": "unsure", "label": "看方案再定", "label_en": "Depends on the plan"},
        ],
    },
    {
        "key": "elders",
        "type": "number",
        "label": "家中60岁及以上的老人有几位？",
        "label_en": "How many people aged 60 or over live in your home?",
        "required": True,
        "min": 0,
        "max": 8,
    },
    {
        "key": "elder",
        "type": "repeat",
        "label": "老人",
        "label_en": "Older resident",
        "count": "${elders}",
        "max": 4,
    },
    {
        "key": "elder_age",
        "type": "number",
        "group": "elder",
        "label": "年龄",
        "label_en": "Age",
        "required": True,
        "min": 60,
        "max": 120,
    },
    {
        "key": "stairs",
        "type": "single",
        "group": "elder",
        "label": "能否独立上下楼？",
        "label_en": "Can they manage the stairs alone?",
        "required": True,
        "choices": [
            {"code": "yes", "label": "能", "label_en": "Yes"},
            {"code": "help", "label": "需要人扶", "label_en": "With help"},
            {"code": "no", "label": "不能", "label_en": "No"},
        ],
    },
    {
        "key": "care",
        "type": "multiple",
        "group": "elder",
        "label": "需要哪些养老服务？",
        "label_en": "Which elderly-care services would help?",
        "relevant": "${elder_age} >= 70 or ${stairs} != 'yes'",
        "choices": [
            {"code": "meals", "label": "助餐", "label_en": "Meals"},
            {"code": "daycare", "label": "日间照料", "label_en": "Day care"},
            {"code": "health", "label": "上门健康服务", "label_en": "Home health visits"},
        ],
    },
    {
        "key": "n_needs",
        "type": "calculate",
        "label": "提出的需求项数",
        "label_en": "Needs named",
        "calculation": "count(${needs})",
    },
    {
        "key": "council",
        "type": "single",
        "label": "您愿意作为居民代表参加改造议事会吗？（名额有限）",
        "label_en": "Would you join the renovation council as a residents' representative? (places are limited)",
        "choices": [
            {"code": "yes", "label": "愿意", "label_en": "Yes"},
            {"code": "no", "label": "不参加", "label_en": "No"},
        ],
    },
    {"key": "other", "type": "text", "label": "其他需求", "label_en": "Other needs"},
]
COUNCIL_PLACES = 5
JOBS_QUESTIONS = [
    {
        "key": "hiring",
        "type": "single",
        "label": "贵单位明年是否计划招聘高校毕业生？",
        "label_en": "Does your organisation plan to hire graduates next year?",
        "required": True,
        "choices": [
            {"code": "yes", "label": "是", "label_en": "Yes"},
            {"code": "no", "label": "否", "label_en": "No"},
        ],
    },
    {
        "key": "n_posts",
        "type": "number",
        "label": "计划招聘几类岗位？",
        "label_en": "How many kinds of post?",
        "relevant": "${hiring} = 'yes'",
        "required": True,
        "min": 1,
        "max": 5,
    },
    {"key": "posts", "type": "repeat", "label": "岗位", "label_en": "Post", "count": "${n_posts}", "max": 5},
    {
        "key": "title",
        "type": "text",
        "group": "posts",
        "label": "岗位名称",
        "label_en": "Post title",
        "required": True,
    },
    {
        "key": "heads",
        "type": "number",
        "group": "posts",
        "label": "招聘人数",
        "label_en": "Number of hires",
        "required": True,
        "min": 1,
        "max": 200,
    },
    {
        "key": "education",
        "type": "single",
        "group": "posts",
        "label": "学历要求",
        "label_en": "Education required",
        "required": True,
        "choices": [
            {"code": "college", "label": "大专", "label_en": "College"},
            {"code": "bachelor", "label": "本科", "label_en": "Bachelor's"},
            {"code": "master", "label": "硕士及以上", "label_en": "Master's or above"},
            {"code": "any", "label": "不限", "label_en": "Any"},
        ],
    },
    {
        "key": "pay",
        "type": "number",
        "group": "posts",
        "label": "月薪（元）",
        "label_en": "Monthly pay (yuan)",
        "min": 1000,
        "max": 100000,
    },
    {
        "key": "publish_ok",
        "type": "single",
        "label": "是否同意将岗位信息发布到就业服务平台？",
        "label_en": "May the posts be published on the job board?",
        "relevant": "${hiring} = 'yes'",
        "required": True,
        "choices": [
            {"code": "yes", "label": "同意", "label_en": "Yes"},
            {"code": "no", "label": "暂不", "label_en": "Not yet"},
        ],
    },
]
JOB_POSTS = [("物业管理员", "college", 4500), ("电工", "college", 5200), ("财务助理", "bachelor", 5000),
             ("工程技术员", "bachelor", 6500), ("社区健康管理", "bachelor", 5800)]  # fmt: skip


def _scan_png(label: str) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (420, 594), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 400, 574), outline="black", width=3)
    draw.text((40, 40), f"paper survey {label}", fill="black")
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _unit_set(name: str, scope: AreaNode, nodes: list[AreaNode], kind: str) -> UnitSet:
    existing = UnitSet.objects.filter(name=name).first()
    return existing or registry.create_unit_set(actor=None, name=name, kind=kind, scope=scope, nodes=nodes)


def _resident_of(h: SurveyHousehold):
    r = Residence.objects.filter(unit_id=h.unit_id, until__isnull=True).select_related("person").first()
    return r.person if r else None


def _submit(survey, h, worker, answers, i: int, today) -> Response:
    channel = ("door", "door", "door", "door", "hotline", "door", "paper")[i % 7]
    caller = _resident_of(h) if channel in ("hotline", "paper") else None
    if caller is None and (channel == "hotline" or (channel == "paper" and not survey.anonymous)):
        channel = "door"
    return actions.submit_response(
        survey,
        h,
        actor=worker,
        answers=answers,
        channel=channel,
        on_behalf_of=caller,
        scan=(_scan_png(h.token), f"{h.token}.png") if channel == "paper" else None,
        paper_number=f"{survey.pk}-{i + 1:04d}" if channel == "paper" else "",
        today=today,
    )


def _hanghai(ctx, worker) -> str:
    estate = AreaNode.objects.filter(path__startswith=ctx.district.path, name="航海小区", level__code="estate").first()
    if estate is None:
        return "no 航海小区"
    today = ctx.today
    unit_set = _unit_set("航海小区全体住户", estate, [estate], UnitSet.Kind.COMPOUND)
    project = ""
    if apps.is_installed("gongzhi.voting"):
        vote = Vote.objects.filter(subject=PROPERTY_VOTE).first()
        project = f"voting.vote:{vote.pk}" if vote else ""
    survey = actions.create_survey(
        actor=worker,
        title=HANGHAI,
        intro="航海小区一院至四院综合改造已竣工。请您对改造效果作出评价，结果将按户统计并公开。",
        unit_set=unit_set,
        opens_on=today - timedelta(days=30),
        closes_on=today - timedelta(days=2),
        questions=HANGHAI_QUESTIONS,
        project_ref=project,
        quota_percent=80,
    )
    survey = actions.open_survey(survey, actor=worker)
    frame = list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))
    rng = ctx.rng("surveys:hanghai")
    missing = set(rng.sample(range(len(frame)), 4))  # four households never reached: a sample, not a census
    answered = [h for i, h in enumerate(frame) if i not in missing]
    unhappy = rng.choice(range(len(answered)))
    unsure = set(rng.sample([i for i in range(len(answered)) if i != unhappy], 2))
    day = today - timedelta(days=10)
    for i, h in enumerate(answered):
        if i == unhappy:
            answers = {"aware": "yes", "satisfied": 2, "unhappy": ["noise", "slow"], "note": "施工期间噪声太大。"}
        elif i in unsure:
            answers = {"aware": "yes", "satisfied": "na"}  # 不了解: excluded from satisfaction
        else:
            answers = {
                "aware": "yes",
                "satisfied": 5 if rng.random() < 0.7 else 4,
                "areas": {"content": "good", "process": rng.choice(["good", "good", "fair"]), "upkeep": "good"},
            }
        r = _submit(survey, h, worker, answers, i, day)
        if r.review == Response.Review.RECEIVED:
            actions.review_response(r, actor=worker, decision="approved")
    actions.close_survey(survey, actor=worker)
    actions.publish_results(survey, actor=worker, published=True, keys=["aware", "satisfied", "areas"])
    report = selectors.figures(survey)
    return (
        f"{HANGHAI}: 知晓率 {report.awareness.percent} [{report.awareness.low}, {report.awareness.high}], "
        f"参与率 {report.participation.percent}, 满意率 {report.satisfaction.percent} "
        f"[{report.satisfaction.low}, {report.satisfaction.high}]"
    )


def _haobang(ctx, staff) -> str:
    unit_set = UnitSet.objects.filter(name="豪邦花园片区").first()
    if unit_set is None:
        return "no 豪邦花园片区"
    today = ctx.today
    # The renovation project this survey asks about (its timeline shows the survey): found by name, through the
    # app registry, as surveys does not import the renovation part (renovation reads surveys).
    project_ref = ""
    if apps.is_installed("gongzhi.renovation"):
        project = apps.get_model("renovation", "Project").objects.filter(name__startswith="豪邦花园片区").first()
        project_ref = project.ref if project else ""
    survey = actions.create_survey(
        actor=staff,
        title=HAOBANG,
        project_ref=project_ref,
        intro="豪邦花园东、西、南、北四个院拟连片改造。请告诉我们您是否了解这一计划。",
        unit_set=unit_set,
        opens_on=today - timedelta(days=7),
        closes_on=today + timedelta(days=21),
        questions=HAOBANG_QUESTIONS,
        quota_percent=40,
    )
    survey = actions.open_survey(survey, actor=staff)
    frame = list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))
    rng = ctx.rng("surveys:haobang")
    buildings = sorted({h.building_id for h in frame})
    # Door to door has reached some buildings well and others hardly at all.
    reach = {b: (0.7 if i % 3 == 0 else 0.15 if i % 3 == 1 else 0.45) for i, b in enumerate(buildings)}
    n = 0
    for i, h in enumerate(frame):
        if rng.random() >= reach[h.building_id]:
            continue
        aware = rng.random() < 0.8
        answers = {"aware": "yes" if aware else "no", "age": rng.randint(45, 88)}
        if aware:
            answers["source"] = rng.sample(["notice", "wechat", "visit", "meeting"], rng.randint(1, 2))
        r = _submit(survey, h, staff, answers, i, today)
        if r.review == Response.Review.RECEIVED and rng.random() < 0.7:
            actions.review_response(r, actor=staff, decision="approved")
        n += 1
    under = sum(1 for row in selectors.by_building(survey) if row.under_sampled)
    return f"{HAOBANG}: {n} 户已答，{under} 栋楼样本不足 / {n} answered, {under} buildings under-sampled"


def _taoyuan(ctx, admin) -> str:
    try:
        court = ctx.compound("桃源路47号院")
    except AreaNode.DoesNotExist:
        return "no 桃源路47号院"
    today = ctx.today
    unit_set = _unit_set("桃源路47号院全体住户", court, [court], UnitSet.Kind.COMPOUND)
    # The 一征 of the compound's renovation matter (deliberation's demo): its page shows this survey.
    matter = Matter.objects.filter(title=TAOYUAN_MATTER[0]).first()
    survey = actions.create_survey(
        actor=admin,
        project_ref=f"deliberation.matter:{matter.pk}" if matter else "",
        title=TAOYUAN,
        intro="一征：在议定改造方案之前，逐户征求大家的改造需求。",
        unit_set=unit_set,
        opens_on=today - timedelta(days=3),
        closes_on=today + timedelta(days=27),
        questions=TAOYUAN_QUESTIONS,
        quota_percent=60,
    )
    survey = actions.open_survey(survey, actor=admin)
    # The council has a few residents' seats: a quota on the option, filled as households say yes.
    actions.add_quota(
        survey, actor=admin, kind="choice", question_key="council", choice_code="yes", maximum=COUNCIL_PLACES
    )
    frame = list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))
    rng = ctx.rng("surveys:taoyuan")
    for i, h in enumerate(frame[:: max(1, len(frame) // 8)]):
        needs = rng.sample(["roof", "pipes", "lift", "parking", "charging", "green"], rng.randint(1, 3))
        answers = {"needs": needs, "council": "yes" if i < COUNCIL_PLACES - 2 else "no"}
        if "lift" in needs:
            answers.update(floor=rng.randint(2, 6), pay=rng.choice(["yes", "unsure", "no"]))
        answers["elders"] = elders = rng.choice([0, 0, 1, 2])
        for n in range(1, elders + 1):  # a repeat group's answers: one set per older resident (elder__1__…)
            age, stairs = rng.randint(60, 92), rng.choice(["yes", "yes", "help", "no"])
            answers.update({f"elder__{n}__elder_age": age, f"elder__{n}__stairs": stairs})
            if age >= 70 or stairs != "yes":
                answers[f"elder__{n}__care"] = rng.sample(["meals", "daycare", "health"], rng.randint(1, 2))
        _submit(survey, h, admin, answers, i, today)
    return f"{TAOYUAN}: {survey.households} 户"


def _jobs(ctx, admin) -> str:
    district = ctx.district
    today = ctx.today
    unit_set = _unit_set("二七区全域", district, [district], UnitSet.Kind.CUSTOM)
    survey = actions.create_survey(
        actor=admin,
        title=JOBS,
        intro="为做好明年高校毕业生就业服务，请各企业和驻区单位填报招聘计划，岗位信息经同意后发布到就业服务平台。",
        unit_set=unit_set,
        opens_on=today - timedelta(days=5),
        closes_on=today + timedelta(days=25),
        questions=JOBS_QUESTIONS,
        respondents=Survey.Respondents.ORGANIZATION,
    )
    survey = actions.open_survey(survey, actor=admin)
    rng = ctx.rng("surveys:jobs")
    frame = list(SurveyHousehold.objects.filter(survey=survey).select_related("organization").order_by("path", "pk"))
    for i, h in enumerate(frame[::2]):
        org = h.organization
        contact = org.memberships.filter(until__isnull=True).select_related("person").first() if org else None
        answers: dict = {"hiring": "no"}
        if i % 3 != 2:
            posts = rng.sample(JOB_POSTS, rng.randint(1, 3))
            answers = {"hiring": "yes", "n_posts": len(posts), "publish_ok": rng.choice(["yes", "yes", "no"])}
            for n, (title, education, pay) in enumerate(posts, 1):
                answers.update(
                    {
                        f"posts__{n}__title": title,
                        f"posts__{n}__heads": rng.randint(1, 6),
                        f"posts__{n}__education": education,
                        f"posts__{n}__pay": pay,
                    }
                )
        actions.submit_response(
            survey,
            h,
            actor=admin,
            answers=answers,
            channel="hotline" if contact else "door",
            on_behalf_of=contact.person if contact else None,
            today=today,
        )
    return f"{JOBS}: {survey.households} 家"


def load(ctx) -> None:
    if ctx.district is None:
        return
    done = set(Survey.objects.filter(title__in=[HANGHAI, HAOBANG, TAOYUAN, JOBS]).values_list("title", flat=True))
    lines = []
    steps = [
        (HANGHAI, _hanghai, "community_worker"),
        (HAOBANG, _haobang, "subdistrict_staff"),
        (TAOYUAN, _taoyuan, "district_admin"),
        (JOBS, _jobs, "district_admin"),
    ]
    for title, fn, username in steps:
        if title in done:
            continue
        with transaction.atomic():
            lines.append(fn(ctx, ctx.user(username)))
    if not lines:
        ctx.say("问卷演示数据已存在，跳过 / surveys demo already loaded, skipping")
        return
    for line in lines:
        ctx.say(line)
    ctx.notes.append(
        "问卷：community_worker 打开 /surveys/ 查看航海小区改造后满意度调查的三率（含区间与口径），"
        "subdistrict_staff 打开豪邦花园知晓度调查的“各楼进度”看哪些楼栋样本不足 / surveys: community_worker opens "
        "/surveys/ for 航海小区's three rates with intervals and definitions; subdistrict_staff opens 豪邦花园's "
        "progress page to see the under-sampled buildings"
    )
    ctx.notes.append(
        "企业问卷：district_admin 打开“二七区企业岗位需求征集”——答卷对象是辖区企业和驻区单位，每个岗位一组问题（重复组）"
        " / enterprise questionnaire: district_admin opens 二七区企业岗位需求征集 — respondents are the district's "
        "enterprises and work units, with a repeat group per post"
    )
