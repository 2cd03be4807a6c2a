"""Numbered schema migrations. Never edit a released one: append a new one."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "tasks, meta-features, runs, curves, ingest batches, rejected rows",
        """
        CREATE SEQUENCE batch_id_seq START 1;
        CREATE TABLE tasks (
            task          VARCHAR PRIMARY KEY,
            modality      VARCHAR,
            problem_type  VARCHAR,
            source        VARCHAR,
            created_at    TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE metafeatures (
            task    VARCHAR NOT NULL,
            name    VARCHAR NOT NULL,
            value   DOUBLE,
            source  VARCHAR,
            PRIMARY KEY (task, name)
        );
        CREATE TABLE batches (
            batch_id      INTEGER PRIMARY KEY,
            source        VARCHAR NOT NULL,
            format        VARCHAR NOT NULL,
            kind          VARCHAR NOT NULL,
            checksum      VARCHAR,
            n_accepted    BIGINT,
            n_duplicates  BIGINT,
            n_rejected    BIGINT,
            created_at    TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE param_types (
            space  VARCHAR NOT NULL,
            name   VARCHAR NOT NULL,
            type   VARCHAR NOT NULL,
            PRIMARY KEY (space, name)
        );
        CREATE TABLE runs (
            run_key     VARCHAR NOT NULL,
            task        VARCHAR NOT NULL,
            space       VARCHAR NOT NULL,
            params      JSON NOT NULL,
            metrics     JSON NOT NULL,
            fidelity    DOUBLE,
            status      VARCHAR NOT NULL,
            duration_s  DOUBLE,
            source      VARCHAR,
            batch_id    INTEGER,
            created_at  TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE curves (
            run_key  VARCHAR NOT NULL,
            name     VARCHAR NOT NULL,
            step     DOUBLE NOT NULL,
            value    DOUBLE
        );
        CREATE TABLE rejected (
            batch_id  INTEGER NOT NULL,
            line      BIGINT,
            raw       VARCHAR,
            reason    VARCHAR NOT NULL
        );
        """,
    ),
    (
        2,
        "search spaces, model registry, recommendation queries; runs link to a query",
        """
        CREATE SEQUENCE model_id_seq START 1;
        CREATE SEQUENCE query_id_seq START 1;
        CREATE TABLE spaces (
            name        VARCHAR PRIMARY KEY,
            definition  JSON NOT NULL,
            source      VARCHAR,
            created_at  TIMESTAMP DEFAULT current_timestamp
        );
        CREATE TABLE models (
            model_id       INTEGER PRIMARY KEY,
            space          VARCHAR NOT NULL,
            metric         VARCHAR NOT NULL,
            maximize       BOOLEAN NOT NULL,
            fidelity       DOUBLE,
            kind           VARCHAR NOT NULL,
            artifact       VARCHAR NOT NULL,
            checksum       VARCHAR NOT NULL,
            n_runs         BIGINT,
            n_tasks        BIGINT,
            newest_batch   INTEGER,
            evaluation     JSON,
            status         VARCHAR NOT NULL,
            created_at     TIMESTAMP DEFAULT current_timestamp,
            promoted_at    TIMESTAMP
        );
        CREATE TABLE queries (
            query_id      INTEGER PRIMARY KEY,
            created_at    TIMESTAMP DEFAULT current_timestamp,
            space         VARCHAR,
            task          VARCHAR,
            model_id      INTEGER,
            metafeatures  JSON,
            request       JSON,
            results       JSON
        );
        ALTER TABLE runs ADD COLUMN query_id INTEGER;
        """,
    ),
    (
        3,
        "runs keep why they failed",
        """
        ALTER TABLE runs ADD COLUMN error VARCHAR;
        """,
    ),
    (
        4,
        "a store has an id; a task keeps the fingerprint of the data it was described from",
        """
        CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        INSERT INTO store_meta (key, value) VALUES ('store_id', CAST(uuid() AS VARCHAR));
        ALTER TABLE tasks ADD COLUMN fingerprint VARCHAR;
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]
