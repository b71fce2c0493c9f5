"""Versioned schema migrations. Append a new entry to MIGRATIONS; never edit an applied one.

Kept to SQL that ports to PostgreSQL except the FTS5 table (search.py owns its portability).
Timestamps are ISO 8601 UTC text; JSON columns hold lists and objects.
"""

from __future__ import annotations

# The taxonomy's topic ids and names when summaries started holding ids (a fixed copy: the
# migration below must mean the same thing whatever the taxonomy becomes).
_TOPIC_NAMES_TO_IDS: tuple[tuple[str, str], ...] = (
    ("llm", "Large Language Models"), ("nlp", "NLP"), ("cv", "Computer Vision"), ("mm", "Multimodal"),
    ("gen", "Generative Models"), ("rl", "Reinforcement Learning"), ("robotics", "Robotics"),
    ("graph", "Graph Learning"), ("ts", "Time Series"), ("opt", "Optimization"), ("theory", "Theory"),
    ("efficient", "Efficient ML"), ("interp", "Interpretability"), ("fl", "Federated Learning"),
    ("agents", "Agents"), ("safety", "Safety & Alignment"), ("rag", "Retrieval & RAG"),
    ("speech", "Speech & Audio"), ("bench", "Datasets & Benchmarks"), ("science", "AI for Science"),
    ("health", "Healthcare"), ("reasoning", "Reasoning"), ("code", "Code Generation"),
    ("recsys", "Recommender Systems"), ("privacy", "Privacy & Security"),
    ("fairness", "Fairness & Ethics"), ("repr", "Representation Learning"),
    ("causal", "Causal Inference"), ("prob", "Probabilistic ML"), ("ml", "Machine Learning"),
)


def topic_names_to_ids_sql() -> str:
    """Cached summaries hold topic ids instead of names: every JSON string that is exactly a
    topic name and an element of a list ("Computer Vision", or "Computer Vision"] ) becomes the
    id. Inside other strings a quote is escaped (\\"), so text that merely mentions a name is
    left alone; the only other list, key points, holds sentences of four words or more. Plain
    REPLACE and LIKE, which SQLite and PostgreSQL both have."""
    statements = []
    for topic_id, name in _TOPIC_NAMES_TO_IDS:
        statements.append(
            f"UPDATE summaries SET data = REPLACE(REPLACE(data, '\"{name}\",', '\"{topic_id}\",'), "
            f"'\"{name}\"]', '\"{topic_id}\"]') WHERE data LIKE '%\"{name}\"%';"
        )
    return "\n".join(statements)


MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE papers (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL DEFAULT 0,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        categories TEXT NOT NULL DEFAULT '[]',
        primary_category TEXT,
        published TEXT,
        updated TEXT,
        url TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        source_label TEXT NOT NULL DEFAULT '',
        announce_type TEXT,
        doi TEXT,
        journal_ref TEXT,
        comment TEXT,
        meta_rank INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL DEFAULT '',
        sources TEXT NOT NULL DEFAULT '[]',
        popularity INTEGER NOT NULL DEFAULT 0,
        is_updated INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        summary_text TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX papers_changed_at ON papers(changed_at);
    CREATE INDEX papers_published ON papers(published);

    CREATE TABLE paper_versions (
        paper_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated TEXT,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, version)
    );

    CREATE TABLE signals (
        paper_id TEXT NOT NULL,
        source TEXT NOT NULL,
        ref TEXT NOT NULL,
        score INTEGER NOT NULL DEFAULT 0,
        comments INTEGER NOT NULL DEFAULT 0,
        label TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        observed_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, source, ref)
    );

    CREATE TABLE paper_topics (
        paper_id TEXT NOT NULL,
        topic_id TEXT NOT NULL,
        PRIMARY KEY (paper_id, topic_id)
    );
    CREATE INDEX paper_topics_topic ON paper_topics(topic_id, paper_id);

    CREATE TABLE summaries (
        paper_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        summarizer TEXT NOT NULL,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, version, summarizer, model, prompt_version)
    );

    CREATE TABLE llm_usage (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        at TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        paper_id TEXT NOT NULL DEFAULT '',
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX llm_usage_day ON llm_usage(day);

    CREATE TABLE source_state (
        name TEXT PRIMARY KEY,
        last_success TEXT,
        last_failure TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_fetch_at TEXT,
        last_counts TEXT NOT NULL DEFAULT '{}'
    );

    CREATE TABLE http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        updated_at TEXT NOT NULL
    );

    CREATE TABLE channel_settings (
        key TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        data TEXT NOT NULL,
        last_digest_at TEXT,
        paused_reason TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
    );

    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        query TEXT NOT NULL DEFAULT '',
        topics TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        paused_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX subscriptions_user ON subscriptions(platform, user_id);

    CREATE TABLE user_state (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        dm_blocked INTEGER NOT NULL DEFAULT 0,
        quiet_start TEXT,
        quiet_end TEXT,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        last_alert_at TEXT,
        alerted_until TEXT,
        PRIMARY KEY (platform, user_id)
    );

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        platform TEXT NOT NULL,
        destination TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        parts_sent INTEGER NOT NULL DEFAULT 0,
        delivery_ids TEXT NOT NULL DEFAULT '[]',
        last_error TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

    CREATE TABLE delivered_papers (
        channel_key TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        local_date TEXT NOT NULL,
        PRIMARY KEY (channel_key, paper_id)
    );

    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        shown_at TEXT
    );
    CREATE INDEX notices_user ON notices(platform, user_id, shown_at);

    -- External content: the text lives in papers; 'rebuild' recreates the index from it.
    CREATE VIRTUAL TABLE papers_fts USING fts5(
        title, abstract, authors, summary_text,
        content='papers', content_rowid='pk',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    """,
    # delivery: rendered parts kept with each outbox row (a resumed send splits the same way),
    # the version of each paper posted to a channel (show_updated), one row per channel and
    # local date that a digest slot was handled, the alert queue, and small named watermarks.
    """
    ALTER TABLE outbox ADD COLUMN parts TEXT;
    ALTER TABLE delivered_papers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE digest_runs (
        channel_key TEXT NOT NULL,
        local_date TEXT NOT NULL,
        status TEXT NOT NULL,
        outbox_key TEXT,
        papers INTEGER NOT NULL DEFAULT 0,
        at TEXT NOT NULL,
        PRIMARY KEY (channel_key, local_date)
    );

    CREATE TABLE alert_queue (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        subscription_ids TEXT NOT NULL DEFAULT '[]',
        matched_at TEXT NOT NULL,
        outbox_key TEXT,
        PRIMARY KEY (platform, user_id, paper_id)
    );
    CREATE INDEX alert_queue_waiting ON alert_queue(platform, user_id) WHERE outbox_key IS NULL;

    CREATE TABLE watermarks (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # search: papers_fts becomes contentless and keyed by time (see bot/store/fulltext.py
    # fts_key): rowid = seconds(COALESCE(published, first_seen)) * 2**31 + pk,
    # so newest-first is rowid order and a time window is a rowid range. A partial index lists
    # the papers with any popularity for sort:top.
    """
    DROP TABLE papers_fts;
    CREATE VIRTUAL TABLE papers_fts USING fts5(
        title, abstract, authors, summary_text,
        content='',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    INSERT INTO papers_fts (rowid, title, abstract, authors, summary_text)
        SELECT (MIN(4294967295, MAX(0, COALESCE(CAST(strftime('%s', substr(COALESCE(published, first_seen), 1, 19)) AS INTEGER), 0))) << 31) | pk,
               title, abstract, authors, summary_text
        FROM papers;
    CREATE INDEX papers_popular ON papers(popularity) WHERE popularity > 0;
    """,
    # alerts: matches beyond what one DM can list are counted per user ("+N more"), not queued.
    """
    ALTER TABLE user_state ADD COLUMN alert_overflow INTEGER NOT NULL DEFAULT 0;
    """,
    # ingest: the digest of the last body of each URL (a server that ignores conditional GET
    # but sends the same bytes is treated as a 304), and of each payload file ingested whole.
    """
    ALTER TABLE http_cache ADD COLUMN body_sha256 TEXT;

    CREATE TABLE ingested_payloads (
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        items INTEGER NOT NULL,
        ingested_at TEXT NOT NULL,
        PRIMARY KEY (kind, sha256)
    );
    """,
    # email digests and trending: how a channel's digest ranks (rank:trending; '' is the
    # default), and the pending confirmations of addresses asked for with /papers email
    # (double opt-in: the digest starts only once the link sent to the address is followed).
    """
    ALTER TABLE channel_settings ADD COLUMN rank TEXT NOT NULL DEFAULT '';

    CREATE TABLE email_confirmations (
        token TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE INDEX email_confirmations_user ON email_confirmations(platform, user_id);
    """,
    # slack app: workspaces that installed the distributed app (the platform's record, tokens
    # included, as JSON) and the single-use OAuth states of installs in progress.
    """
    CREATE TABLE installations (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        installer_id TEXT NOT NULL DEFAULT '',
        record TEXT NOT NULL,
        installed_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace_id, installer_id)
    );

    CREATE TABLE oauth_states (
        state TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
    # delivery: the part whose send has started without its answer being recorded, and how many
    # times it was started, written BEFORE each request goes out, so a crash (kill -9) or a stop
    # between the platform's answer and its record resends that part at most once.
    """
    ALTER TABLE outbox ADD COLUMN unanswered_part INTEGER;
    ALTER TABLE outbox ADD COLUMN unanswered_sends INTEGER NOT NULL DEFAULT 0;
    """,
    # relevance: what people told paperbot about papers (one choice per person and paper, with
    # the channel it was given in, so a channel's model uses only that channel's feedback),
    # saved papers, seeds, the last list each person (or channel) was shown (so `like 3` works),
    # stored interest models, the personal DM digest settings, the state of the text
    # representation (document frequencies, the fitted projection) and cached paper vectors.
    """
    CREATE TABLE feedback (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        action TEXT NOT NULL,
        channel_key TEXT NOT NULL DEFAULT '',
        shown_in TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id, paper_id)
    );
    CREATE INDEX feedback_channel ON feedback(channel_key);

    CREATE TABLE saved_papers (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id, paper_id)
    );

    CREATE TABLE seeds (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT 'seed',
        at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id, paper_id)
    );

    CREATE TABLE shown_lists (
        platform TEXT NOT NULL,
        scope TEXT NOT NULL,
        paper_ids TEXT NOT NULL,
        context TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        PRIMARY KEY (platform, scope)
    );

    CREATE TABLE interest_models (
        owner_kind TEXT NOT NULL,
        owner_key TEXT NOT NULL,
        representation TEXT NOT NULL,
        data BLOB NOT NULL,
        feedback_count INTEGER NOT NULL DEFAULT 0,
        trained_at TEXT NOT NULL,
        PRIMARY KEY (owner_kind, owner_key)
    );

    CREATE TABLE personal_digests (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        time_of_day TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        max_items INTEGER NOT NULL DEFAULT 10,
        threshold REAL,
        last_digest_at TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id)
    );

    CREATE TABLE rank_state (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );

    CREATE TABLE paper_vectors (
        paper_id TEXT NOT NULL,
        representation TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        vector BLOB NOT NULL,
        PRIMARY KEY (paper_id, representation)
    );
    CREATE INDEX paper_vectors_representation ON paper_vectors(representation);

    CREATE TABLE embedding_usage (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        at TEXT NOT NULL,
        model TEXT NOT NULL,
        tokens INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX embedding_usage_day ON embedding_usage(day);
    """,
    # alerts: a change feed over subscriptions, so the long-lived matcher applies what changed
    # instead of reloading them all (a change made by another process sharing the store too).
    # Every write takes the next number of the 'subscriptions' sequence and stamps it on the
    # rows it adds, pauses or resumes, or on a removal record for each row it deletes.
    """
    ALTER TABLE subscriptions ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX subscriptions_changed ON subscriptions(changed_seq);

    CREATE TABLE subscription_removals (
        subscription_id INTEGER PRIMARY KEY,
        changed_seq INTEGER NOT NULL
    );
    CREATE INDEX subscription_removals_changed ON subscription_removals(changed_seq);

    CREATE TABLE sequences (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    INSERT INTO sequences (name, value) VALUES ('subscriptions', 0);
    """,
    # search index: papers.index_seq is the value of search_sequence when the row last changed in
    # a way the search engine's index holds (texts, time, popularity, sources, topics); the
    # index catches up from the rows above its watermark (bot/store/search_index.py).
    """
    ALTER TABLE papers ADD COLUMN index_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX papers_index_seq ON papers(index_seq);
    CREATE TABLE search_sequence (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
    );
    INSERT INTO search_sequence (id, value) VALUES (1, 0);
    -- FTS5 is now the fallback: merge its segments 16 at a time instead of 4 (about a fifth
    -- less ingest CPU at 100k papers; FTS5 searches measured no slower).
    INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', 16);
    """,
    # relevance: a person's DM alert settings; a relevance threshold like the digests' (NULL: off).
    """
    CREATE TABLE alert_settings (
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        threshold REAL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, user_id)
    );
    """,
    # Share buttons: a private answer kept as it was shown, behind a single-use token bound to
    # the person and the place it was shown to (bot/store/shares.py).
    """
    CREATE TABLE share_tokens (
        token TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        user_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        reply TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX share_tokens_expiry ON share_tokens(expires_at);
    """,
    # topic ids: cached summaries name their topics by taxonomy id, no longer by display name
    topic_names_to_ids_sql(),
    # replicas: an outbox row is claimed by one replica (`claimed_by`) until `lease_until`
    # (bot/store/outbox.py `claim_due`); a lease not renewed, because its holder died, expires
    # and any replica takes the row over.
    """
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;
    """,
    # Slack HTTP behind a load balancer: private answers kept for their feedback buttons, in the
    # store so that a click on any replica redraws the answer another one sent (bot/store/answers.py).
    """
    CREATE TABLE private_answers (
        platform TEXT NOT NULL,
        token TEXT NOT NULL,
        owner TEXT NOT NULL,
        message TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (platform, token)
    );
    CREATE INDEX private_answers_expiry ON private_answers(expires_at);
    """,
    # alerts: papers.alert_seq is the search sequence's value of the transaction that first
    # inserted the paper (0 for papers stored before this migration). The alert scan reads the
    # papers above its watermark up to the sequence value it sees, which only moves once every
    # lower number is committed, so a paper whose ingest commits late is still scanned
    # (bot/alerts/alerts.py `scan_new_papers`).
    """
    ALTER TABLE papers ADD COLUMN alert_seq INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX papers_alert_seq ON papers(alert_seq);
    """,
    # relevance: every list a person (or a channel) was shown, kept SHOWN_HISTORY_TTL, so that
    # the papers passed over above a clicked one are read from the list it was actually in,
    # not only from the last list (bot/store/feedback.py `shown_history`); pruned by retention.
    """
    CREATE TABLE shown_history (
        platform TEXT NOT NULL,
        scope TEXT NOT NULL,
        at TEXT NOT NULL,
        context TEXT NOT NULL DEFAULT '',
        paper_ids TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (platform, scope, at, context)
    );
    CREATE INDEX shown_history_expiry ON shown_history(expires_at);
    """,
    # summaries: keep only each paper's newest summary per summarizer. Storing a summary now
    # deletes those it supersedes (bot/store/summaries.py); this clears the ones earlier
    # upgrades of the prompt version left behind (one row a paper per upgrade).
    """
    DELETE FROM summaries WHERE EXISTS (
        SELECT 1 FROM summaries newer
        WHERE newer.paper_id = summaries.paper_id AND newer.summarizer = summaries.summarizer
        AND (newer.version > summaries.version
             OR (newer.version = summaries.version AND newer.created_at > summaries.created_at))
    );
    """,
]
