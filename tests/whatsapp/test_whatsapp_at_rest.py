"""WhatsApp numbers at rest: encrypted where they must be read back to send, found by their keyed hash, and in no
stored byte in the clear (bot/storage/crypto.py; the other encrypted fields: tests/storage/test_encryption.py)."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from bot.storage import crypto, tables, whatsapp_repo
from tests.fakes import whatsapp_payloads as wp
from tests.storage.test_encryption import folder_bytes, found_in
from tests.whatsapp.conftest import WhatsAppCitizen


async def test_a_whatsapp_number_is_found_by_its_hash_and_stored_only_encrypted(amina: WhatsAppCitizen,
                                                                                settings: Settings) -> None:
    await amina.say("Bonjour")
    phone = wp.AMINA.wa_id or ""
    assert phone and amina.graph.messages_to(wp.AMINA.address)  # the reply went out: the number was read back
    async with amina.bab.sessions() as session, session.begin():
        contact = await session.scalar(select(tables.WhatsAppContact))
        assert contact is not None and contact.wa_id == phone and contact.wa_id_hash == crypto.keyed_hash(phone)
        # A person known by their number alone is keyed by its hash, and found again by it.
        key = await whatsapp_repo.resolve_contact(session, None, "212600000077", None, None, amina.clock.now())
        assert key == crypto.keyed_hash("212600000077")
        again = await whatsapp_repo.resolve_contact(session, None, "212600000077", None, None, amina.clock.now())
        assert again == key
        found = await whatsapp_repo.resolve_contact(session, None, phone, None, None, amina.clock.now())
        assert found == wp.AMINA.user_id  # Amina, by her number's hash: her identity key is her BSUID
    await amina.bab.close()
    blob = folder_bytes(settings.data_dir)
    assert found_in(blob, (phone, "212600000077", "Bonjour")) == []
