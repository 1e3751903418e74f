//! The embedded store's table, and the one change a file written by an older build needs.
//!
//! Items live in an ordinary (rowid) table with a unique index on `(pk, sk)`. Until 2026-12-03 the table was
//! `WITHOUT ROWID`: a B-tree keyed by `(pk, sk)` that keeps whole rows in its inner pages too. SQLite
//! advises against that for rows over about a twentieth of a page (200 bytes at 4 KiB), and a request log
//! record was about 770 (about 670 since 2026-12-04, with its `null` fields left out): inner pages held four
//! or five rows, pages were less than half full, and every insert (newest first, at the left edge of its
//! org's range) rebalanced and rewrote a deep path of them. A rowid table appends each row at its end and the
//! index holds only the short keys.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

const TABLE: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    counters TEXT NOT NULL DEFAULT '{}',
    expires_at INTEGER,
    PRIMARY KEY (pk, sk)
);
";

/// Create the table, or move an older file's `WITHOUT ROWID` table into the current one. A file already in
/// the current form is only read (an open takes no write lock); otherwise the change is made once, in one
/// transaction that holds the write lock and looks again, so a second process opening the file meanwhile
/// finds it done.
pub(super) fn ensure(conn: &mut Connection) -> rusqlite::Result<()> {
    if layout(conn)? == Layout::Current {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    match layout(&tx)? {
        Layout::Current => {}
        Layout::Missing => tx.execute_batch(TABLE)?,
        Layout::WithoutRowid => {
            tx.execute_batch("ALTER TABLE items RENAME TO items_without_rowid;")?;
            tx.execute_batch(TABLE)?;
            tx.execute_batch(
                "INSERT INTO items (pk, sk, version, body, counters, expires_at)
                 SELECT pk, sk, version, body, counters, expires_at FROM items_without_rowid;
                 DROP TABLE items_without_rowid;",
            )?;
        }
    }
    tx.commit()
}

#[derive(Debug, PartialEq, Eq)]
enum Layout {
    Missing,
    WithoutRowid,
    Current,
}

fn layout(conn: &Connection) -> rusqlite::Result<Layout> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'items'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match sql {
        None => Layout::Missing,
        Some(sql) if sql.to_ascii_uppercase().contains("WITHOUT ROWID") => Layout::WithoutRowid,
        Some(_) => Layout::Current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_files_table_is_moved_with_every_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, version INTEGER NOT NULL,
                    body TEXT NOT NULL, counters TEXT NOT NULL DEFAULT '{}', expires_at INTEGER,
                    PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                 INSERT INTO items VALUES ('a', '1', 3, '{\"x\":1}', '{\"n\":2}', NULL);
                 INSERT INTO items VALUES ('a', '2', 1, '{}', '{}', 99);",
            )
            .unwrap();
        }
        let mut conn = Connection::open(&path).unwrap();
        ensure(&mut conn).unwrap();
        ensure(&mut conn).unwrap();
        assert_eq!(layout(&conn).unwrap(), Layout::Current);
        let rows: Vec<super::super::Row> = conn
            .prepare("SELECT pk, sk, version, body, counters, expires_at FROM items ORDER BY sk")
            .unwrap()
            .query_map([], super::super::read_row)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (
                    "a".into(),
                    "1".into(),
                    3,
                    "{\"x\":1}".into(),
                    "{\"n\":2}".into(),
                    None
                ),
                (
                    "a".into(),
                    "2".into(),
                    1,
                    "{}".into(),
                    "{}".into(),
                    Some(99)
                ),
            ]
        );
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "the old table is gone");
        let duplicate = conn.execute(
            "INSERT INTO items (pk, sk, version, body) VALUES ('a', '1', 1, '{}')",
            [],
        );
        assert!(duplicate.is_err(), "(pk, sk) is still unique");
    }

    #[test]
    fn a_new_file_gets_the_rowid_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        ensure(&mut conn).unwrap();
        assert_eq!(layout(&conn).unwrap(), Layout::Current);
        let duplicate = conn.execute_batch(
            "INSERT INTO items (pk, sk, version, body) VALUES ('a', '1', 1, '{}');
             INSERT INTO items (pk, sk, version, body) VALUES ('a', '1', 1, '{}');",
        );
        assert!(duplicate.is_err(), "(pk, sk) is unique");
    }
}
