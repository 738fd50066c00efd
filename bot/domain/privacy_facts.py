"""The facts of Bab's processing of personal data (law 09-08), in one place: what is collected, why, who sees
it, how long it is kept, how it is protected and where it is hosted.

Both documents that state them are built from here and from the settings: the privacy notice the citizen reads
(the web page and the line under each confirmation, in every language) and the processing register the
controller files with the CNDP (`bab privacy register`, bot/domain/privacy_register.py). A retention setting
that changes therefore changes both, and a test holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.i18n import N_, Translator

MOROCCO = "MA"
# Shown where a fact the operator must supply is missing: visible on the page, so that it gets filled in.
RECEIPT_PLACEHOLDER = "[BAB_CNDP_RECEIPT]"
CONTROLLER_PLACEHOLDER = "[BAB_CONTROLLER]"


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact in the citizen's words (`notice`, a msgid) and in the register's (`register`, French: the register
    is filed with the CNDP, whose declaration forms are in French)."""

    notice: str
    register: str


@dataclass(frozen=True, slots=True)
class DataCategory:
    """A kind of data Bab keeps, and which retention period applies to it."""

    id: str
    fact: Fact
    # "personal", "files", "messages", "drafts", "account" (until the person erases it) or "anonymous"
    retention: str


PURPOSES = (
    Fact(N_("passing access-to-information requests (law 31-13) to the competent collectivity, following them and "
            "telling the requester the answer"),
         "transmettre les demandes d'accès à l'information (loi 31-13) à la collectivité compétente, en suivre les "
         "délais et communiquer la réponse au demandeur"),
    Fact(N_("passing complaints, observations and suggestions (decree 2-17-265) to the collectivity concerned and "
            "telling the citizen the answer"),
         "transmettre les réclamations, observations et suggestions (décret 2-17-265) à la collectivité concernée "
         "et communiquer la réponse"),
    Fact(N_("counting anonymous figures on how collectivities answer, for the public transparency page"),
         "produire des statistiques anonymes sur les réponses des collectivités (page de transparence publique)"),
)
CATEGORIES = (
    DataCategory("identity", Fact(
        N_("your name and your national card number (access requests only: the law's form asks for them)"),
        "identité : nom et prénom, numéro de CNIE ou de carte de séjour (demandes d'accès uniquement, exigés par "
        "le formulaire légal ; jamais pour une réclamation)"), "personal"),
    DataCategory("contact", Fact(
        N_("how to reach you (required for an access request, optional for a complaint)"),
        "coordonnées : adresse électronique, téléphone ou adresse postale (obligatoires pour une demande d'accès, "
        "facultatives pour une réclamation)"), "personal"),
    DataCategory("request", Fact(
        N_("what you ask or report, and the place it is about"),
        "contenu de la demande ou de la réclamation, collectivité et service concernés, textes échangés avec la "
        "collectivité (précisions, réponse, refus motivé)"), "personal"),
    DataCategory("location", Fact(
        N_("the location you share (optional)"),
        "localisation partagée par le citoyen (facultative)"), "personal"),
    DataCategory("files", Fact(
        N_("the photos and documents you send, and the documents of the answer"),
        "photos et documents joints, documents de la réponse"), "files"),
    DataCategory("messages", Fact(
        N_("what you type in the web chat, and its messages to you"),
        "historique de la conversation sur le chat web (messages du citoyen et du service)"), "messages"),
    DataCategory("drafts", Fact(
        N_("the answers of a form you have not finished yet"),
        "réponses d'un formulaire commencé et pas encore envoyé (conservées pour que le citoyen le termine)"),
        "drafts"),
    DataCategory("account", Fact(
        N_("your chat account (a Telegram or WhatsApp identifier, or a random code kept by your browser) and your "
           "language"),
        "compte de messagerie : identifiant Telegram ou WhatsApp, ou code aléatoire du navigateur (chat web), "
        "langue choisie"), "account"),
    DataCategory("facts", Fact(
        N_("the reference, dates, status and collectivity of each request, without anything that identifies you"),
        "données anonymes de chaque demande : référence, type, collectivité, dates, statut, motif de refus"),
        "anonymous"),
)
# Only in the register: the notice is read by the people concerned themselves.
PEOPLE = (
    "citoyens et résidents étrangers qui adressent une demande, une réclamation, une observation ou une suggestion",
    ("agents et coordinateurs des collectivités qui les traitent (nom, rôle, compte de messagerie, journal de leurs "
    "consultations et actions)"),
)
RECIPIENTS = (
    Fact(N_("the staff of the collectivity the request is addressed to, or transferred to"),
         "les agents habilités de la collectivité destinataire (ou de celle à laquelle la demande est transférée), "
         "limités à leur périmètre"),
    Fact(N_("Bab's coordinators, who follow the deadlines"),
         "les coordinateurs de Bab, pour le suivi des délais"),
    Fact(N_("nobody else: the public figures and the open data contain no names, contacts or texts"),
         "aucun autre destinataire : les statistiques publiques et les données ouvertes ne contiennent ni nom, ni "
         "coordonnée, ni texte"),
)
RETENTION_LINES = {
    "personal": Fact(N_("your name, card number, contact, location and the text of your request: erased {period} "
                        "after the request is closed"),
                     "identité, coordonnées, localisation, contenu et textes de la demande : effacés {period} après "
                     "la clôture de la demande"),
    "files": Fact(N_("photos and documents: deleted {period} after the request is closed"),
                  "photos et documents : supprimés {period} après la clôture de la demande"),
    "messages": Fact(N_("what you type in the web chat and its messages to you: deleted {period} after your last "
                        "request is closed"),
                     "historique du chat web : supprimé {period} après la clôture de la dernière demande du citoyen "
                     "(ou {period} après son envoi, sans demande) ; les textes reçus sur les autres canaux ne sont "
                     "pas conservés"),
    "drafts": Fact(N_("the answers of a form you have not finished: erased {period} after your last message"),
                   "réponses d'un formulaire non terminé : effacées {period} après le dernier message du citoyen"),
    "anonymous": Fact(N_("the reference, dates, status and collectivity of each request stay, without anything "
                         "that identifies you, for the public figures"),
                      "données anonymes des demandes : conservées pour les statistiques, sans rien qui identifie "
                      "la personne"),
}
SECURITY = (
    Fact(N_("names, card numbers, contacts, locations, texts and files are stored encrypted, and so are chat "
            "account numbers"),
         "chiffrement au repos des noms, numéros de carte, coordonnées, localisations, textes et fichiers (Fernet : "
         "AES-128-CBC et HMAC-SHA256) ; identifiants Telegram et numéros WhatsApp chiffrés, recherchés par une "
         "empreinte à clé (HMAC-SHA256) ; clés hors de la base et de ses sauvegardes, rotation des clés documentée"),
    Fact(N_("staff see a requester's details only for the requests of their collectivity, and each view is "
            "recorded"),
         "accès des agents limité aux demandes de leur collectivité ; chaque consultation des données d'un "
         "demandeur est inscrite au journal d'audit, exportable par les coordinateurs"),
    Fact(N_("the logs hold references and numbers, never what you wrote"),
         "journaux techniques sans données personnelles (identifiants et références uniquement)"),
)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long each kind of data is kept, in days (bot/services/retention.py says what each kind covers)."""

    personal_days: int = 365
    files_days: int = 365
    messages_days: int = 90
    outbox_days: int = 7
    # Longer than the personal data it watches over, so that a complaint about a view can still be checked.
    audit_days: int = 730

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionSettings:
        """The retention periods of a `Settings`."""
        return cls(personal_days=settings.retention_personal_days, files_days=settings.retention_files_days,
                   messages_days=settings.retention_messages_days, outbox_days=settings.retention_outbox_days,
                   audit_days=settings.retention_audit_days)


@dataclass(frozen=True, slots=True)
class PrivacyFacts:
    """The facts that depend on the deployment, read from the settings."""

    retention: RetentionSettings = RetentionSettings()
    hosting_country: str = MOROCCO
    controller: str = ""
    cndp_receipt: str = ""
    channels: tuple[str, ...] = ("web",)  # the chat channels turned on
    https: bool = False  # cookies marked Secure: the page is served over HTTPS

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivacyFacts:
        """The facts of a deployment's settings."""
        channels = ("web",) + (("telegram",) if settings.telegram_bot_token else ()) + (
            ("whatsapp",) if settings.whatsapp_token else ())
        return cls(retention=RetentionSettings.from_settings(settings), hosting_country=settings.hosting_country, controller=settings.controller,
                   cndp_receipt=settings.cndp_receipt, channels=channels, https=settings.secure_cookies)

    @property
    def transfer_abroad(self) -> bool:
        """Whether the database is hosted outside Morocco (a transfer the CNDP must authorise)."""
        return self.hosting_country != MOROCCO

    @property
    def receipt(self) -> str:
        return self.cndp_receipt or RECEIPT_PLACEHOLDER

    @property
    def controller_name(self) -> str:
        return self.controller or CONTROLLER_PLACEHOLDER

    def days(self, retention: str) -> int | None:
        """The period of a retention kind, in days (None for those kept until erased, or anonymous)."""
        return {"personal": self.retention.personal_days, "files": self.retention.files_days,
                "messages": self.retention.messages_days, "drafts": self.retention.messages_days}.get(retention)


def period(t: Translator, days: int) -> str:
    """A number of days in words ("365 days")."""
    return t.ngettext("{days} day", "{days} days", days, days=days)


def retention_lines(t: Translator, facts: PrivacyFacts) -> list[str]:
    """How long each kind of data is kept, in the reader's words."""
    lines = []
    for kind, message in RETENTION_LINES.items():
        days = facts.days(kind)
        lines.append(t(message.notice, period=period(t, days)) if days is not None else t(message.notice))
    return lines


def sentence(text: str) -> str:
    """A list item as a sentence: its first letter capitalised (Latin scripts; Arabic has no case)."""
    return text[:1].upper() + text[1:]


def notice(t: Translator, facts: PrivacyFacts) -> list[tuple[str, list[str]]]:
    """The privacy notice: (heading, paragraphs) in the reader's language, from the facts."""
    where = (t(N_("Bab's data is hosted in Morocco: nothing is transferred abroad.")) if not facts.transfer_abroad
             else t(N_("Bab's data is hosted outside Morocco ({country}): the CNDP authorised this transfer."),
                    country=facts.hosting_country))
    transit = [t(N_("If you write through Telegram or WhatsApp, your messages also pass through that service, "
                    "under its own rules."))] if len(facts.channels) > 1 else []
    sections = [
        ("", [t(N_("Bab is a service that passes citizens' requests and complaints to Moroccan collectivities.")),
              t(N_("Responsible for this processing: {controller}. Declared to the CNDP under number {receipt}."),
                controller=facts.controller_name, receipt=facts.receipt)]),
        (t(N_("What we keep")), [t(category.fact.notice) for category in CATEGORIES]),
        (t(N_("Why")), [t(purpose.notice) for purpose in PURPOSES]
         + [t(N_("Nothing is sold or used for advertising."))]),
        (t(N_("Who sees it")), [t(recipient.notice) for recipient in RECIPIENTS]),
        (t(N_("How long")), retention_lines(t, facts)),
        (t(N_("How it is protected")), [t(measure.notice) for measure in SECURITY] + [where] + transit),
        (t(N_("Your rights")), [
            t(N_("On a shared device, use Leave this device at the top of the chat when you are done: the "
                 "conversation then disappears from the screen. With your reference and follow-up code you can "
                 "find your request elsewhere.")),
            t(N_("Your rights (law 09-08): you can ask to see, correct or delete your data by writing in the chat, "
                 "and complain to the CNDP (www.cndp.ma)."))]),
    ]
    return [(heading, [sentence(line) for line in lines]) for heading, lines in sections]


def confirmation_line(t: Translator, facts: PrivacyFacts) -> str:
    """The line under a request's summary that says how long it is kept and where it is declared."""
    return t(N_("Kept until {period} after the request is closed, then erased. CNDP declaration: {receipt}."),
             period=period(t, facts.retention.personal_days), receipt=facts.receipt)
