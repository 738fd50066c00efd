"""The step that finds the competent collectivity from what the citizen types or a shared location."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.directory import Collectivity, Directory
from bot.flows.engine import Next, Turn, match_option, option_rows, resolve, wrong_kind
from bot.flows.spec import Inbound, InboundKind, Option
from bot.i18n import LOCALE_INFO, N_, Translator

LEVEL_LABELS = {
    "commune": N_("{name} (commune, {parent})"),
    "province": N_("{name} (province, {parent})"),
    "prefecture": N_("{name} (prefecture, {parent})"),
    "region": N_("{name} (region)"),
}
RETRY = Option("retry", N_("None of these"))


def local_name(place: Collectivity, t: Translator) -> str:
    """The collectivity's name in the script of the locale (HCP's French spelling for Latin-script locales)."""
    return place.name_ar if LOCALE_INFO[t.locale].script == "arab" else place.name_fr


def place_label(place: Collectivity, directory: Directory, t: Translator) -> str:
    """'Tétouan (commune, Tétouan)': a name the user can tell apart from its homonyms."""
    level = "prefecture" if place.level == "province" and place.province_type == "prefecture" else place.level
    parent = directory.parent(place)
    return t(LEVEL_LABELS[level], name=local_name(place, t), parent=local_name(parent, t) if parent else "")


@dataclass(frozen=True, slots=True)
class PickPlace:
    """Search the directory, offer the best candidates as buttons, and always have the user confirm one."""

    id: str
    question: str
    save: str
    next: Next

    def candidates(self, turn: Turn) -> tuple[Option, ...]:
        directory = turn.ctx.directory
        options = []
        for code in turn.state.scratch.get("candidates", []):
            place = directory.get(code)
            if place is not None:
                options.append(Option(code, place_label(place, directory, turn.t), literal=True))
        return (*options, RETRY)

    def prompt(self, turn: Turn) -> None:
        if turn.state.scratch.get("candidates"):
            turn.say_text(turn.t(N_("Which one do you mean?")), option_rows(turn, self.candidates(turn)))
        else:
            turn.say_text(turn.t(self.question), with_version=True)

    def offer(self, turn: Turn, codes: list[str]) -> None:
        turn.state.scratch["candidates"] = codes
        turn.ask_again()

    def handle(self, turn: Turn, inbound: Inbound) -> None:
        directory = turn.ctx.directory
        if turn.state.scratch.get("candidates") and inbound.kind in (InboundKind.CHOICE, InboundKind.TEXT):
            option = match_option(turn, self.candidates(turn), inbound)
            if option is RETRY:
                turn.state.scratch.pop("candidates", None)
                turn.ask_again()
                return
            if option is not None:
                turn.state.scratch.pop("candidates", None)
                turn.state.answers[self.save] = option.id
                turn.go(resolve(self.next, turn))
                return
            if inbound.kind is InboundKind.CHOICE:
                turn.stale()
                return
        if inbound.kind is InboundKind.LOCATION and inbound.lat is not None and inbound.lon is not None:
            nearest = directory.nearest_communes(inbound.lat, inbound.lon, limit=3)
            self.offer(turn, [place.code for place in nearest])
            return
        if inbound.kind is not InboundKind.TEXT:
            if inbound.kind is InboundKind.CHOICE:
                turn.stale()
            else:
                wrong_kind(turn, inbound, expects_choice=False)
            return
        matches = directory.match(inbound.text, limit=4)
        if not matches:
            turn.state.scratch.pop("candidates", None)
            turn.error(N_("I could not find a commune, province or region with that name. Check the spelling, "
                          "or type the name of the nearest town."))
            return
        self.offer(turn, [match.collectivity.code for match in matches])
