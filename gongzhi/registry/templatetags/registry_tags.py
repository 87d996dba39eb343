from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def percent(value) -> str:
    """A share (0..1, Decimal) as a percentage with one decimal: Decimal("0.6667") → "66.7%"; None → "—"."""
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


_UNIT_ROW = (
    '<tr><th scope="row"><a href="{}">{}</a></th><td>{}</td><td class="num">{}</td>'
    '<td class="num">{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>'
)


@register.simple_tag
def unit_table_rows(rows: list[dict], voter_label: str, no_owner_label: str) -> SafeString:
    """The rows of a building's unit table (`selectors.unit_rows_page`), written in one pass.

    A page shows dozens of rows of eight cells, and a template loop spends several times as long on each cell
    (see the page benchmark in bench/README.md). Every value is escaped with `html.escape`, which is what
    Django's `escape` applies; the labels come translated from the template.
    """
    voter = f' <span class="small">（{escape(voter_label)}）</span>'
    no_owner = f'<span class="small">{escape(no_owner_label)}</span>'
    out = []
    for r in rows:
        others = escape(r["others"])
        if r["voter"]:
            owners = escape(r["voter"]) + voter + ("、" + others if others else "")
        else:
            owners = others or no_owner
        out.append(
            _UNIT_ROW.format(
                escape(r["url"]),
                escape(r["number"]),
                escape(r["entrance"]),
                escape(r["floor"]),
                escape(r["area"]),
                escape(r["source"]),
                escape(r["residents"]),
                owners,
            )
        )
    return mark_safe("\n".join(out))  # every value above is escaped


_CHILD_ROW = (
    '<tr>\n    <th scope="row"><a href="{}">{}</a>{}</th>\n    <td>{}</td>\n'
    '    <td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>\n'
    '    <td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>\n  </tr>'
)


@register.simple_tag
def child_table_rows(rows: list, node_url: str) -> SafeString:
    """The rows of a node's children table (`selectors.children_page`: AreaNode with `level` loaded), written
    in one pass like `unit_table_rows`: link, address, level, the stored counts and the shares of 60+ and 80+."""
    out = []
    for c in rows:
        address = f'<br><span class="small">{escape(c.address)}</span>' if c.address else ""
        out.append(
            _CHILD_ROW.format(
                escape(f"{node_url}{c.pk}/"),
                escape(c.name),
                address,
                escape(c.level.label),
                c.unit_count,
                c.household_count,
                c.resident_count,
                percent(c.share_60),
                percent(c.share_80),
                c.compound_count,
            )
        )
    return mark_safe("".join(out))  # every text value above is escaped; the counts are integers
