"""Common Crawl snapshots on a schedule: discover them in the crawl index (`index`), record what was processed
in a SQLite ledger (`ledger`), and process whatever is not done yet with a manifest's pipeline (`sync`), one
`curate crawl sync` at a time (`lock`)."""
