"""The engine acting on free text (bot/flows/understanding.py): replies in the citizen's language and script, flows
started and filled from the first message, one short question when unsure, State matters explained, Tamazight
greeted. Pure: the real engine, flows, catalogues and directory, no database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.domain.directory import Directory
from bot.flows.engine import Context, advance
from bot.flows.spec import (
    Inbound,
    InboundKind,
    Outbound,
    RequestView,
    Send,
    SetLocale,
    State,
)
from bot.i18n import LOCALES


def commune(directory: Directory, name: str) -> str:
    """The HCP code of the commune of that French name."""
    return next(code for code in directory.codes()
                if (place := directory.get(code)) and place.level == "commune" and place.name_fr == name)


@pytest.fixture(scope="module")
def ctx(template_db: tuple[Path, Directory]) -> Context:
    return Context(directory=template_db[1], default_locale="ary")


class Chat:
    """One conversation driven through `advance`, keeping the state and the last turn's messages."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = State()
        self.sent: list[Outbound] = []
        self.effects: list[object] = []

    def say(self, text: str) -> list[Outbound]:
        return self._apply(Inbound(kind=InboundKind.TEXT, text=text))

    def tap(self, choice: str) -> list[Outbound]:
        return self._apply(Inbound(kind=InboundKind.CHOICE, choice_id=choice, version=self.state.version))

    def _apply(self, inbound: Inbound) -> list[Outbound]:
        self.state, effects = advance(self.state, inbound, self.ctx)
        self.effects = effects
        self.sent = [effect.message for effect in effects if isinstance(effect, Send)]
        return self.sent

    @property
    def text(self) -> str:
        return "\n".join(message.text for message in self.sent)

    def options(self) -> list[str]:
        return [option_id for message in self.sent for option_id, _ in message.options]

    @property
    def where(self) -> str:
        return f"{self.state.flow}:{self.state.step}"


def test_arabizi_complaint_with_its_details_is_answered_in_arabizi(ctx: Context) -> None:
    casablanca = commune(ctx.directory, "Casablanca")
    chat = Chat(ctx)
    chat.say("3ndi chikaya 3la zbel f casa, kayn bzaf f derb dyalna")
    assert chat.state.locale == "ary_Latn" and chat.where == "feedback:place"
    assert not any("\u0600" <= char <= "\u06ff" for char in chat.text), chat.text  # Latin letters only
    assert "Fhemt: Chikaya" in chat.text and "go:menu" in chat.options()
    assert "113-14" in chat.text and "83" in chat.text  # why this collectivity: the competence and its article
    assert chat.state.answers == {"kind": "complaint", "service": "waste",
                                  "description": "3ndi chikaya 3la zbel f casa, kayn bzaf f derb dyalna"}
    assert chat.options()[1] == casablanca  # the commune named, offered first, to confirm with one tap
    chat.tap(casablanca)
    assert chat.where == "feedback:media"  # service and description were said already: not asked again
    chat.tap("skip")
    chat.tap("skip")
    assert chat.where == "feedback:confirm"
    assert "Zbel o n9a" in chat.text and "kayn bzaf f derb dyalna" in chat.text  # shown back before sending
    assert "Casablanca (jama3a" in chat.text


def test_arabizi_access_request_fills_the_topic(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("bghit n3ref ch7al sarfat l commune 3la l7adi9a")
    assert chat.state.locale == "ary_Latn" and chat.where == "access:place"
    assert chat.state.answers["topic"] == "bghit n3ref ch7al sarfat l commune 3la l7adi9a"
    assert "Ina jama3a 3ndha had lma3lomat?" in chat.text


def test_darija_in_arabic_letters_keeps_arabic_letters(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("عندي شكاية على الزبل فالدرب ديالنا")
    assert chat.state.locale == "ary" and chat.where == "feedback:place"
    assert "فهمت: شكاية" in chat.text


def test_msa_is_answered_in_msa(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("أريد الحصول على محضر الدورة الأخيرة لجماعة الرباط")
    assert chat.state.locale == "ar" and chat.where == "access:place"
    assert chat.options()[1] == commune(ctx.directory, "Rabat")  # from the message


def test_status_opens_the_list_or_the_request_named(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("فين وصل الطلب ديالي")
    assert chat.where == "mine:list" and chat.state.locale == "ary"
    view = RequestView(reference="BAB-7K3MQ9", kind="access", status="submitted", collectivity_code=commune(ctx.directory, "Casablanca"),
                       subject="budget", received_on=date(2026, 11, 2), due_on=date(2026, 11, 30))
    mine = Chat(Context(directory=ctx.directory, default_locale="ary", requests=(view,)))
    mine.say("fin wsal talab dyali BAB-7K3MQ9?")
    assert mine.where == "mine:detail" and "BAB-7K3MQ9" in mine.text
    other = Chat(ctx)
    other.say("fin wsal talab dyali BAB-7K3MQ9?")  # not theirs: no detail, the list
    assert other.where == "mine:list"


def test_help_as_first_message(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("aide")
    assert chat.state.locale == "fr" and chat.where == "menu:main"
    assert "loi 31-13" in chat.text and "access" in chat.options()


def test_unsure_asks_one_short_question(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("chikaya 3la zbel wla talab ma3lomat?")
    assert chat.where == "understand:which"
    assert chat.options() == ["access", "feedback", "menu"]
    chat.tap("feedback")
    assert chat.where == "feedback:place" and chat.state.answers["service"] == "waste"


def test_state_matters_are_explained_not_filed(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("je veux renouveler ma carte nationale")
    assert chat.where == "menu:main" and "chafafiya.ma" in chat.text and "l'État" in chat.text
    assert chat.options() == ["go:menu"]


def test_one_tap_back_to_the_menu(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("3ndi chikaya 3la dow f zen9a dyalna")
    assert chat.where == "feedback:place"
    chat.tap("go:menu")
    assert chat.where == "menu:main"
    chat.say("bghit ntleb ma3lomat")  # a new request starts empty
    assert chat.where == "access:topic" and chat.state.answers == {}


@pytest.mark.parametrize("greeting", ["ⴰⵣⵓⵍ", "azul", "tanmmirt", "mamek"])
def test_tamazight_is_greeted_in_tamazight_and_offered_the_languages(ctx: Context, greeting: str) -> None:
    chat = Chat(ctx)
    chat.say(greeting)
    first = chat.sent[0]
    assert first.locale == "zgh" and "ⴰⵣⵓⵍ" in first.text and "Azul" in first.text  # Tifinagh and Latin
    assert "tacurant ad d-tas" in first.text  # full Tamazight is coming
    assert chat.where == "lang:choose" and chat.options() == list(LOCALES)
    chat.tap("fr")
    assert chat.state.locale == "fr" and chat.where == "menu:main"


@pytest.mark.parametrize("answer", ["ok", "wakha", "oui", "لا", "1", "merci"])
def test_short_answers_never_switch_the_language(ctx: Context, answer: str) -> None:
    chat = Chat(ctx)
    chat.say("Bonjour")
    assert chat.state.locale == "fr" and not chat.state.locale_confirmed
    chat.say(answer)
    assert chat.state.locale == "fr"


def test_writing_another_language_switches_until_one_is_chosen(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("Bonjour")
    chat.say("bghit nchki 3la zbel f derb dyalna")
    assert chat.state.locale == "ary_Latn" and SetLocale("ary_Latn") in chat.effects
    assert chat.where == "feedback:place"
    # Writing the complaint in Arabizi was the choice: a description in French no longer moves it.
    chat.tap("go:menu")
    chat.say("Je voudrais savoir le budget de la commune de Fès")
    assert chat.state.locale == "ary_Latn"


def test_the_explicit_choice_wins(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("salam")
    chat.tap("lang:fr")
    assert chat.state.locale == "fr" and chat.state.locale_confirmed
    chat.say("3ndi chikaya 3la zbel f derb dyalna")
    assert chat.state.locale == "fr" and chat.where == "feedback:place"
    assert "J'ai compris" in chat.text
    chat.tap("go:menu")
    chat.say("bghit nbddel logha")  # the language can be changed any time
    assert chat.where == "lang:choose"
    chat.tap("ary_Latn")
    assert chat.state.locale == "ary_Latn"


def test_a_named_language_is_set_directly(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("salam")
    chat.say("kteb lia b lfransawiya 3afak")
    assert chat.state.locale == "fr" and chat.state.locale_confirmed and chat.where == "menu:main"


def test_my_requests_list_reads_free_text_too(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("فين وصل الطلب ديالي")
    assert chat.where == "mine:list"
    chat.say("عندي شكاية على الضو فالزنقة ديالنا")
    assert chat.where == "feedback:place" and chat.state.answers["service"] == "lighting"
    chat.tap("go:menu")
    chat.tap("mine")
    chat.say("xyz")  # neither a reference nor a request: asked again
    assert chat.where == "mine:list" and "BAB-7K3MQ9" in chat.text


def test_tamazight_at_the_menu_is_greeted_too(ctx: Context) -> None:
    chat = Chat(ctx)
    chat.say("Bonjour")
    chat.say("azul fellawen, mamek?")
    assert chat.sent[0].locale == "zgh" and "ⴰⵣⵓⵍ" in chat.sent[0].text
    assert chat.where == "lang:choose" and chat.state.locale == "fr"  # asked in the language of the conversation
    assert "Quelle langue préférez-vous ?" in chat.text


def test_a_command_says_nothing_of_the_script(ctx: Context) -> None:
    chat = Chat(ctx)
    chat._apply(Inbound(kind=InboundKind.TEXT, text="/start", locale_hint="ar"))
    assert chat.state.locale == "ary"  # an Arabic phone, and no letters typed by the citizen: Darija, Arabic letters
    latin = Chat(ctx)
    latin._apply(Inbound(kind=InboundKind.TEXT, text="salam", locale_hint="ar"))
    assert latin.state.locale == "ary_Latn"  # Latin letters with no French in them: Darija in Latin letters
    french = Chat(ctx)
    french._apply(Inbound(kind=InboundKind.TEXT, text="salam", locale_hint="fr"))
    assert french.state.locale == "fr"
