"""Open311 GeoReport v2 at /open311/v2/ — read and write, XML and JSON, as the frozen spec writes them.

- Every endpoint answers `.xml` and `.json`; single requests, POST answers and tokens are arrays too.
- Errors are the spec's array (`<errors><error><code/><description/></error></errors>` / `[{"code", "description"}]`)
  in the format asked for, with 400 (missing or bad parameter), 403 (missing, empty or wrong api_key), 404
  (unknown jurisdiction, service, request or token), and 429 when a key goes over its rate.
- `jurisdiction_id` is optional (one jurisdiction is served); given, it must be ours.
- Coordinates are WGS-84 on the wire, as stored (gongzhi.core.geo.STORAGE_DATUM): no datum change here; the
  maps convert to GCJ-02 at their edge. In public output they are the compound's, rounded to 3 decimals (~100 m).
- No requester's name, phone or e-mail ever appears in output; phone numbers and e-mail addresses typed into
  a description are blanked before it is shown.
- Extensions: `page` / `page_size` on GET requests; a multipart `media` upload besides `media_url`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from gongzhi.core import geo
from gongzhi.registry.models import AreaNode, CompoundProfile
from gongzhi.servicedesk import actions, machine
from gongzhi.servicedesk.actions import DeskError
from gongzhi.servicedesk.models import Category, Open311Client, ServiceRequest

SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00+08:00"  # when these endpoints last changed (discovery)
MAX_RANGE = timedelta(days=90)
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
PUBLIC_DECIMALS = Decimal("0.001")
NEAREST_COMPOUND_M = 1000  # a point further than this from every compound is filed at the client's node

_LISTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def jurisdiction() -> str:
    """Ours: settings.GONGZHI_OPEN311_JURISDICTION, else the district's code (410103 in the demo)."""
    configured = getattr(settings, "GONGZHI_OPEN311_JURISDICTION", "")
    if configured:
        return configured
    root = AreaNode.objects.filter(parent=None).order_by("id").values_list("code", "pk").first()
    return (root[0] or str(root[1])) if root else "gongzhi"


# --- rendering ------------------------------------------------------------------------------------------------
def _xml_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_fields(d: dict) -> str:
    out = []
    for key, value in d.items():
        if isinstance(value, list):
            child = _LISTS[key]
            inner = "".join(
                f"<{child}>{_xml_fields(v) if isinstance(v, dict) else _xml_value(v)}</{child}>" for v in value
            )
            out.append(f"<{key}>{inner}</{key}>")
        elif isinstance(value, dict):
            out.append(f"<{key}>{_xml_fields(value)}</{key}>")
        else:
            out.append(f"<{key}>{_xml_value(value)}</{key}>")
    return "".join(out)


def render(fmt: str, data, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    """`data` is a list (with `item` naming each element under `root`) or one dict (the root's fields)."""
    if fmt == "json":
        response = JsonResponse(data, safe=False, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        if isinstance(data, list):
            body = "".join(f"<{item}>{_xml_fields(d)}</{item}>" for d in data)
        else:
            body = _xml_fields(data)
        xml = f'<?xml version="1.0" encoding="utf-8"?>\n<{root}>{body}</{root}>'
        response = HttpResponse(xml, status=status, content_type="text/xml; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    return render(fmt, [{"code": status, "description": d} for d in descriptions], "errors", "error", status=status)


def w3c(dt: datetime | None) -> str | None:
    """W3C / ISO 8601 with the time zone, in Beijing time: 2026-11-30T09:05:00+08:00."""
    if dt is None:
        return None
    return timezone.localtime(dt).replace(microsecond=0).isoformat()


def scrub(text: str) -> str:
    return _EMAIL_RE.sub("[email]", _PHONE_RE.sub("[phone]", text or ""))


def _round(value) -> float | None:
    """Rounded to ~100 m, and a number in JSON as the spec's examples show it."""
    if value is None:
        return None
    return float(Decimal(value).quantize(PUBLIC_DECIMALS, rounding=ROUND_HALF_UP))


# --- checks shared by every endpoint --------------------------------------------------------------------------
class Refusal(Exception):
    def __init__(self, status: int, *descriptions: str):
        super().__init__(descriptions[0])
        self.status, self.descriptions = status, descriptions


def _param(request, name: str) -> str:
    source = request.POST if request.method == "POST" else request.GET
    return (source.get(name) or "").strip()


def _check_jurisdiction(request) -> None:
    given = _param(request, "jurisdiction_id")
    if given and given != jurisdiction():
        raise Refusal(404, f"jurisdiction_id not found: {given}")


def endpoint(methods=("GET",)):
    def decorator(view):
        @csrf_exempt
        def wrapper(request, fmt: str, **kwargs):
            if request.method not in methods:
                return errors(fmt, 405, f"method {request.method} not allowed")
            try:
                _check_jurisdiction(request)
                return view(request, fmt, **kwargs)
            except Refusal as r:
                return errors(fmt, r.status, *r.descriptions)

        return wrapper

    return decorator


# --- discovery and services -----------------------------------------------------------------------------------
@endpoint()
def discovery(request, fmt):
    base = request.build_absolute_uri(reverse("open311:root"))
    data = {
        "changeset": CHANGESET,
        "contact": f"{getattr(settings, 'GONGZHI_HOTLINE', '')} · {base}",
        "key_service": "python manage.py open311_key NAME (district administrators; or the admin site)",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base.rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, data, "discovery")


def _categories():
    return Category.objects.filter(active=True).select_related("responsible").prefetch_related("questions")


def service_dict(cat: Category) -> dict:
    return {
        "service_code": cat.code,
        "service_name": cat.name,
        "description": cat.description or f"{cat.name}（{cat.body_name}，{cat.limit_text}）",
        "metadata": bool(cat.questions.all()),  # prefetched
        "type": "realtime",
        "keywords": cat.keywords,
        "group": cat.group,
    }


@endpoint()
def services(request, fmt):
    return render(fmt, [service_dict(c) for c in _categories()], "services", "service")


@endpoint()
def service_definition(request, fmt, code: str):
    cat = _categories().filter(code=code).first()
    if cat is None:
        raise Refusal(404, f"service_code not found: {code}")
    attributes = [
        {
            "variable": True,
            "code": q.code,
            "datatype": q.datatype,
            "required": q.required,
            "datatype_description": q.description or None,
            "order": q.order + 1,
            "description": q.label,
            "values": [{"key": v.get("key"), "name": v.get("name")} for v in q.values],
        }
        for q in cat.questions.all()
    ]
    return render(fmt, {"service_code": cat.code, "attributes": attributes}, "service_definition")


# --- requests -------------------------------------------------------------------------------------------------
def _public_qs():
    return ServiceRequest.objects.select_related(
        "category", "category__responsible", "compound", "compound__profile", "node", "duplicate_of"
    )


def request_dict(req: ServiceRequest) -> dict:
    """One request as the public sees it: the place to the compound, no requester, coordinates rounded."""
    place = req.compound or req.node
    profile = getattr(place, "profile", None) if req.compound_id else None
    lat = profile.latitude if profile is not None and profile.latitude is not None else req.latitude
    lon = profile.longitude if profile is not None and profile.longitude is not None else req.longitude
    notes = machine.STATE_LABELS[req.state]
    if req.duplicate_of_id:
        notes = f"{notes}：{req.duplicate_of.reference}"
    elif req.extension_reason and req.state in machine.OPEN:
        notes = f"{notes}（延期：{scrub(req.extension_reason)}）"
    return {
        "service_request_id": req.reference,
        "status": machine.open311_status(req.status),
        "status_notes": notes,
        "service_name": req.category.name,
        "service_code": req.category.code,
        "description": scrub(req.description),
        "agency_responsible": req.category.body_name,
        "service_notice": "",
        "requested_datetime": w3c(req.accepted_at),
        "updated_datetime": w3c(req.updated_at),
        "expected_datetime": w3c(req.due_at),
        "address": " ".join(x for x in (place.name, place.address) if x),
        "address_id": str(place.pk),
        "zipcode": "",
        "lat": _round(lat),
        "long": _round(lon),
        "media_url": req.media_url,
    }


def _when(value: str, name: str) -> datetime:
    dt = parse_datetime(value)
    if dt is None:
        d = parse_date(value)
        if d is None:
            raise Refusal(400, f"{name} is not a W3C datetime: {value}")
        dt = datetime(d.year, d.month, d.day)
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt)
    return dt


def _int(value: str, name: str, default: int, low: int, high: int) -> int:
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Refusal(400, f"{name} must be a whole number from {low} to {high}")
    return int(value)


@endpoint(methods=("GET", "POST"))
def requests_view(request, fmt):
    if request.method == "POST":
        return _post_request(request, fmt)
    qs = _public_qs()
    ids = [x.strip() for x in _param(request, "service_request_id").split(",") if x.strip()]
    if ids:
        qs = qs.filter(reference__in=ids[:MAX_PAGE_SIZE])
    else:
        codes = [x.strip() for x in _param(request, "service_code").split(",") if x.strip()]
        if codes:
            qs = qs.filter(category__code__in=codes)
        start_raw, end_raw = _param(request, "start_date"), _param(request, "end_date")
        start = _when(start_raw, "start_date") if start_raw else None
        end = _when(end_raw, "end_date") if end_raw else None
        if start and end and end < start:
            raise Refusal(400, "end_date is before start_date")
        if start and end and end - start > MAX_RANGE:
            raise Refusal(400, "start_date to end_date may not span more than 90 days")
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            start = end - MAX_RANGE
        if end is None:
            end = start + MAX_RANGE
        qs = qs.filter(accepted_at__gte=start, accepted_at__lte=end)
        statuses = {x.strip() for x in _param(request, "status").split(",") if x.strip()}
        if statuses - {"open", "closed"}:
            raise Refusal(400, "status must be open, closed or both (comma separated)")
        open_states = [s.value for s in machine.OPEN]
        if statuses == {"open"}:
            qs = qs.filter(status__in=open_states)
        elif statuses == {"closed"}:
            qs = qs.exclude(status__in=open_states)
    size = _int(_param(request, "page_size"), "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int(_param(request, "page"), "page", 1, 1, 10**6)
    rows = qs.order_by("-accepted_at", "-id")[(page - 1) * size : page * size]
    return render(fmt, [request_dict(r) for r in rows], "service_requests", "request")


@endpoint()
def request_detail(request, fmt, request_id: str):
    req = _public_qs().filter(reference=request_id).first()
    if req is None:
        raise Refusal(404, f"service_request_id not found: {request_id}")
    return render(fmt, [request_dict(req)], "service_requests", "request")


@endpoint()
def token_view(request, fmt, token: str):
    try:
        req = ServiceRequest.objects.filter(token=token).only("reference", "token").first()
    except (ValueError, ValidationError):  # not a UUID: as unknown as any other token
        req = None
    if req is None:
        raise Refusal(404, f"token not found: {token}")
    return render(fmt, [{"service_request_id": req.reference, "token": str(req.token)}], "service_requests", "request")


# --- POST -----------------------------------------------------------------------------------------------------
def _client(request) -> Open311Client:
    key = _param(request, "api_key")
    client = actions.client_for_key(key)
    if client is None:
        raise Refusal(403, "Invalid api_key received -- can't proceed with create_request.")
    _throttle(client)
    return client


def _throttle(client: Open311Client) -> None:
    """Per key and minute, in the cache (Redis in production): add-then-incr is atomic, so racing requests
    cannot both slip under the limit."""
    window = int(timezone.now().timestamp() // 60)
    key = f"gz:open311:{client.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        count = 1
    if count > client.per_minute:
        raise Refusal(429, f"rate limit of {client.per_minute} requests a minute exceeded for this api_key")


def _attributes(request) -> dict:
    out: dict = {}
    for name in request.POST:
        m = re.fullmatch(r"attribute\[([^\]]+)\](\[\])?", name)
        if m:
            values = [v.strip() for v in request.POST.getlist(name)]
            out[m.group(1)] = values if m.group(2) else values[-1]
    return out


def _place(client: Open311Client, request, lat, lon, address: str) -> AreaNode:
    """Where to file it, inside the client's scope: an address_id, the nearest compound to the point, a
    compound named in the address, else the client's own node."""
    scope = client.node.path
    address_id = _param(request, "address_id")
    if address_id:
        node = AreaNode.objects.filter(pk=address_id if address_id.isdigit() else 0, path__startswith=scope).first()
        if node is None:
            raise Refusal(400, f"address_id not found: {address_id}")
        return node
    if lat is not None:
        box = Decimal("0.02")
        near = CompoundProfile.objects.filter(
            node__path__startswith=scope,
            latitude__range=(lat - box, lat + box),
            longitude__range=(lon - box, lon + box),
        ).select_related("node")[:200]
        best = min(
            near,
            key=lambda p: geo.haversine_m(float(lat), float(lon), float(p.latitude), float(p.longitude)),
            default=None,
        )
        if best and geo.haversine_m(float(lat), float(lon), float(best.latitude), float(best.longitude)) <= (
            NEAREST_COMPOUND_M
        ):
            return best.node
    if address:
        words = [w for w in re.split(r"[\s,，]+", address) if len(w) >= 2][:5]
        q = Q()
        for w in words:
            q |= Q(name__icontains=w) | Q(address__icontains=w)
        if words:
            node = AreaNode.objects.filter(q, path__startswith=scope, level__is_compound=True).order_by("path").first()
            if node is not None:
                return node
    return client.node


def _post_request(request, fmt):
    client = _client(request)
    code = _param(request, "service_code")
    if not code:
        raise Refusal(400, "service_code was not provided")
    cat = _categories().filter(code=code).first()
    if cat is None:
        raise Refusal(404, f"service_code not found: {code}")
    lat_raw, lon_raw = _param(request, "lat"), _param(request, "long")
    address = _param(request, "address_string")
    if not ((lat_raw and lon_raw) or address or _param(request, "address_id")):
        raise Refusal(400, "a location is required: lat and long, address_string or address_id")
    answers = _attributes(request)
    missing = [
        f"attribute[{q.code}] is required ({q.label})"
        for q in cat.questions.all()
        if q.required and not answers.get(q.code)
    ]
    if missing:
        raise Refusal(400, *missing)
    lat = lon = None
    if lat_raw and lon_raw:
        try:
            lat, lon = Decimal(lat_raw), Decimal(lon_raw)
        except ArithmeticError:
            raise Refusal(400, "lat and long must be decimal degrees (WGS-84)") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Refusal(400, "lat and long are out of range")
    node = _place(client, request, lat, lon, address)
    photos = []
    media = request.FILES.get("media")
    if media is not None:
        if media.size > settings.GONGZHI_UPLOAD_MAX_BYTES:
            raise Refusal(400, "media is larger than the upload limit")
        photos.append((media.read(), media.name or "media"))
    media_url = _param(request, "media_url")
    if media_url and not re.match(r"^https?://", media_url):
        raise Refusal(400, "media_url must be an http(s) URL")
    name = " ".join(x for x in (_param(request, "last_name"), _param(request, "first_name")) if x)
    try:
        req = actions.submit_request(
            actor=None,
            category=cat,
            description=_param(request, "description") or cat.name,  # optional in Open311
            channel=ServiceRequest.Channel.OPEN311,
            node=node,
            latitude=lat,
            longitude=lon,
            address_string=address,
            answers=answers,
            photos=photos,
            media_url=media_url,
            requester_name=name,
            requester_phone=_param(request, "phone"),
            open311_client=client,
        )
    except DeskError as e:
        raise Refusal(400, f"{e.field or 'request'}: {e.en}") from None
    notice = f"{cat.body_name}，{cat.limit_text}"
    data = [{"service_request_id": req.reference, "service_notice": notice, "account_id": None}]
    return render(fmt, data, "service_requests", "request")


def not_found(request, rest: str = ""):
    fmt = "json" if rest.endswith(".json") else "xml"
    return errors(fmt, 404, f"no such endpoint: {rest}")
