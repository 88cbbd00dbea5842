"""pyacmedns (PyPI) against certpilot's acme-dns server; run by tests/acmedns_server.rs.

usage: acmedns_compat.py BASE_URL STORAGE_FILE TXT1 TXT2

Registers two accounts (one without allowfrom, so pyacmedns posts no body; one with
allowfrom), updates each with TXT1 then TXT2, keeps them in pyacmedns's own Storage file and
reads them back, then prints the accounts as a JSON list. Any failure raises (exit status 1).
"""

import json
import sys

from pyacmedns import Client, Storage


def main():
    base, storage_path, first, second = sys.argv[1:5]
    client = Client(base)
    storage = Storage(storage_path)
    accounts = [
        client.register_account(None),
        client.register_account(["127.0.0.1/32"]),
    ]
    for index, account in enumerate(accounts):
        storage.put("*.site%d.example" % index, account)
        for value in (first, second):
            client.update_txt_record(account, value)
    storage.save()
    reloaded = Storage(storage_path)
    for index, account in enumerate(accounts):
        assert reloaded.fetch("site%d.example" % index) == account, "storage round trip"
    print(json.dumps(accounts))


if __name__ == "__main__":
    main()
