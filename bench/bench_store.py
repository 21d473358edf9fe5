"""A store for a Python benchmark: started on core 0 with a fresh data directory and the
per-table quota raised (as bench/lib.sh does), reached with boto3, removed on exit."""

import contextlib
import os
import shutil
import subprocess
import tempfile

import boto3


@contextlib.contextmanager
def running(binary, prefix):
    """Yields (address, boto3 client) of a store run from `binary`."""
    data = tempfile.mkdtemp(prefix=prefix)
    env = dict(os.environ, STORE_TABLE_MAX_CAPACITY_UNITS="1000000000")
    store = subprocess.Popen(
        ["taskset", "-c", "0", binary, "--listen", "127.0.0.1:0", "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        address = store.stdout.readline().split()[-1]
        yield address, boto3.client(
            "dynamodb", endpoint_url=f"http://{address}", region_name="us-east-1",
            aws_access_key_id="bench", aws_secret_access_key="bench")
    finally:
        store.kill()
        store.wait()
        shutil.rmtree(data, ignore_errors=True)
