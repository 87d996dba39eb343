"""The figures as an Excel workbook (openpyxl): one sheet per table, numbers as numbers."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from gongzhi.bulkywaste.selectors import Figures


def figures_workbook(f: Figures) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "概况 Summary"
    bold = Font(bold=True)
    rows = [
        ("统计期 Period", f"{f.start} – {f.end}"),
        ("已完成预约 Finished bookings", f.bookings_finished),
        ("已收运预约 Collected bookings", f.collected_bookings),
        ("按时收运 On time", f.on_time),
        ("按时率 % On-time rate", float(f.on_time_rate) if f.on_time_rate is not None else None),
        ("总成本（元） Total cost (CNY)", float(f.cost_total)),
        ("单次成本（元） Cost per pickup (CNY)", float(f.cost_per_pickup) if f.cost_per_pickup is not None else None),
    ]
    rows += [(f"成本 Cost: {k}", float(v)) for k, v in f.cost_by_kind.items()]
    for r in rows:
        ws.append(r)
    for cell in ws["A"]:
        cell.font = bold

    def table(title: str, head: str, key: str, data: list[dict]) -> None:
        sheet = wb.create_sheet(title)
        sheet.append([head, "件数 Pieces", "体积 m³ Volume", "重量 kg Weight"])
        for c in sheet[1]:
            c.font = bold
        for r in data:
            sheet.append([str(r[key]), r["pieces"], float(r["volume_m3"]), float(r["weight_kg"])])

    table("按片区 By area", "片区 Area", "booking__area__name", f.by_area)
    table("按类别 By category", "类别 Category", "label", f.by_category)
    table("按日 By day", "日期 Day", "booking__day", f.by_day)
    ledger = wb.create_sheet("台账 Ledger")
    ledger.append(["日期 Day", "片区 Area", "车辆 Vehicle", "趟 Round", "站数 Stops", "公里 km", "人工时 Crew hours",
                   "处置千克 kg", "金额（元） Amount (CNY)"])  # fmt: skip
    for c in ledger[1]:
        c.font = bold
    for r in f.ledger_rounds():
        ledger.append([
            str(r["day"]), r["area__name"], r["vehicle__name"], r["round_id"], r["stops"],
            float(r["km"] or 0), float(r["hours"] or 0), float(r["kg"] or 0), float(r["total"] or 0),
        ])  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
