"""boto3 smoke test: the calls an application makes first, against ENDPOINT (argv[1]).

Run by tests/tests/smoke.rs inside the venv that tests/run.sh prepares. Exits non-zero with
a traceback on the first failed check; prints "boto3 smoke: ok" at the end.
"""
import os
import sys
import time
import uuid
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Key
from botocore.config import Config
from botocore.exceptions import ClientError


def wait_active(client, name, timeout=30.0):
    # Not the boto3 waiter: it sleeps 20 s between polls.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
                return
        except ClientError as e:
            # Not visible yet is fine; any other error will not fix itself.
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        time.sleep(0.05)
    raise AssertionError(f"table {name} not ACTIVE after {timeout}s")


def expect_error(code, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e.response}"
        return e.response
    raise AssertionError(f"expected {code}, call succeeded")


def bulk_put(ddb, name, s3_dir):
    """StartBulkPutItems as boto3 sends it (with the ClientToken it makes up), its waiter,
    and ListBulkOperations' paginator, over an object in the store's S3 directory."""
    objects = os.path.join(s3_dir, "smoke-inputs", name)
    os.makedirs(objects, exist_ok=True)
    with open(os.path.join(objects, "items.json"), "w") as f:
        f.write('{"Item":{"pk":{"S":"bulk"},"sk":{"N":"1"}}}\n')
        f.write('{"Item":{"pk":{"S":"bulk"},"sk":{"N":"2"}},"ConditionExpression":"attribute_not_exists(pk)"}\n')
    started = ddb.start_bulk_put_items(
        TableName=name,
        InputS3Configuration={"S3Bucket": "smoke-inputs", "S3KeyPrefix": name + "/", "InputFormat": "DYNAMODB_JSON"},
        OutputS3Configuration={"S3Bucket": "smoke-reports", "OutputType": ["ERROR"]},
    )["BulkOperationDescription"]
    assert started["ClientToken"], started
    ddb.get_waiter("bulk_operation_completed").wait(
        BulkOperationArn=started["BulkOperationArn"], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    done = ddb.describe_bulk_operation(BulkOperationArn=started["BulkOperationArn"])["BulkOperationDescription"]
    assert done["BulkOperationStatus"] == "COMPLETED" and done["ProcessedItemCount"] == 2, done
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "bulk"}, "sk": {"N": "2"}}, ConsistentRead=True)["Item"]
    listed = [s for page in ddb.get_paginator("list_bulk_operations").paginate() for s in page["BulkOperationsSummaryList"]]
    assert listed[0]["BulkOperationArn"] == started["BulkOperationArn"], listed


def main(endpoint, s3_dir):
    config = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=5, read_timeout=60)
    session = boto3.session.Session()
    ddb = session.client("dynamodb", endpoint_url=endpoint, config=config)
    name = f"boto3-smoke-{uuid.uuid4().hex[:8]}"

    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    wait_active(ddb, name)
    assert name in ddb.list_tables()["TableNames"]

    # Low-level client.
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "one"}})
    got = ddb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConsistentRead=True)
    assert got["Item"]["v"] == {"S": "one"}, got
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "9"}})

    out = ddb.update_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                          UpdateExpression="ADD hits :one", ExpressionAttributeValues={":one": {"N": "1"}},
                          ReturnValues="UPDATED_NEW")
    assert out["Attributes"] == {"hits": {"N": "1"}}, out

    err = expect_error("ConditionalCheckFailedException", ddb.put_item, TableName=name,
                       Item={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)")
    assert err["Error"]["Message"] == "The conditional request failed", err
    expect_error("ResourceNotFoundException", ddb.describe_table, TableName=name + "-missing")

    ddb.batch_write_item(RequestItems={name: [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(2, 12)
    ]})
    page = ddb.query(TableName=name, KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                     ExpressionAttributeValues={":pk": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "4"}})
    assert [i["sk"]["N"] for i in page["Items"]] == ["2", "3", "4"], page

    paginator = ddb.get_paginator("scan")
    scanned = sum(len(p["Items"]) for p in paginator.paginate(TableName=name, PaginationConfig={"PageSize": 3}))
    assert scanned == 11, scanned

    try:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t"}, "sk": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "nope"}, "sk": {"N": "1"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
        raise AssertionError("transaction should have been cancelled")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "TransactionCanceledException", e.response
        reasons = [r["Code"] for r in e.response.get("CancellationReasons", [])]
        assert reasons == ["None", "ConditionalCheckFailed"], e.response

    # Resource API: Python types, Decimal numbers.
    table = session.resource("dynamodb", endpoint_url=endpoint, config=config).Table(name)
    table.put_item(Item={"pk": "r", "sk": 1, "price": Decimal("9.99"), "tags": {"x", "y"}, "doc": {"k": [1, "two"]}})
    item = table.get_item(Key={"pk": "r", "sk": 1}, ConsistentRead=True)["Item"]
    assert item["price"] == Decimal("9.99") and item["tags"] == {"x", "y"}, item
    assert item["doc"] == {"k": [Decimal(1), "two"]}, item
    assert table.query(KeyConditionExpression=Key("pk").eq("r"))["Count"] == 1

    # PartiQL, as boto3 sends it.
    ddb.execute_statement(
        Statement=f'INSERT INTO "{name}" VALUE {{\'pk\': ?, \'sk\': 1, \'tags\': <<\'a\'>>}}',
        Parameters=[{"S": "ql"}],
    )
    expect_error(
        "DuplicateItemException",
        ddb.execute_statement,
        Statement=f'INSERT INTO "{name}" VALUE {{\'pk\': \'ql\', \'sk\': 1}}',
    )
    changed = ddb.execute_statement(
        Statement=f'UPDATE "{name}" SET n = 5 SET tags = set_add(tags, <<\'b\'>>) WHERE pk = \'ql\' AND sk = 1 RETURNING ALL NEW *'
    )["Items"]
    assert changed[0]["n"] == {"N": "5"} and sorted(changed[0]["tags"]["SS"]) == ["a", "b"], changed
    rows = ddb.execute_statement(Statement=f'SELECT n FROM "{name}" WHERE pk = ?', Parameters=[{"S": "ql"}])
    assert rows["Items"] == [{"n": {"N": "5"}}], rows
    batch = ddb.batch_execute_statement(Statements=[
        {"Statement": f'SELECT * FROM "{name}" WHERE pk = \'ql\' AND sk = 1'},
        {"Statement": f'SELECT * FROM "{name}" WHERE pk = \'none\' AND sk = 1'},
    ])["Responses"]
    assert batch[0]["Item"]["n"] == {"N": "5"} and "Item" not in batch[1], batch
    ddb.execute_transaction(TransactStatements=[
        {"Statement": f'DELETE FROM "{name}" WHERE pk = \'ql\' AND sk = 1'},
    ])
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "ql"}, "sk": {"N": "1"}}, ConsistentRead=True)

    bulk_put(ddb, name, s3_dir)

    ddb.delete_table(TableName=name)
    deadline = time.monotonic() + 30
    while name in ddb.list_tables()["TableNames"]:
        assert time.monotonic() < deadline, "table not deleted"
        time.sleep(0.05)
    print("boto3 smoke: ok")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: smoke_boto3.py ENDPOINT_URL S3_DIR")
    main(sys.argv[1], sys.argv[2])
