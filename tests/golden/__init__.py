"""Golden transcripts: whole conversations, written down once, replayed on every channel.

Each file in tests/golden/transcripts/ is one conversation in a plain text format (see transcript.py):

    # A comment saying what the conversation shows.
    @invite clerk 01.571.01.11 Fatima      a staff invite made before the conversation; its code is {invite}
    > Bonjour                              the citizen writes "Bonjour"
    > [tap] access                         the citizen taps the button whose option id is "access"
    clerk> /start {invite}                 another person ("clerk") writes
    < Salam! I am Bab…                     a reply to the citizen (one line per line of text)
        [access] Request information       …and its buttons: option id, then label
    clerk< …                               a reply to the clerk

References (BAB-XXXXXX) are random: they are written {ref1}, {ref2}… in order of appearance, and a message or
tap can use them (`clerk> [tap] open:{ref1}`).

Replay: `.venv/bin/python -m pytest tests/golden` runs every transcript through the web chat (SQLite, and
PostgreSQL when TEST_DATABASE_URL is set), Telegram (fake Bot API) and WhatsApp (fake Graph API), and checks that
each channel gives exactly the recorded texts and option ids (WhatsApp shortens button titles, so its labels are
not compared).

Record: `.venv/bin/python -m tests.golden record [NAME…]` replays the inbound lines of the transcripts through
the web chat on SQLite and rewrites the files with the current replies. Run it after changing a message text,
then read the diff (`git diff tests/golden`) before committing it. A new conversation starts as a file with only
its `>` lines.
"""
