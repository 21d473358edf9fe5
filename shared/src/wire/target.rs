//! `X-Amz-Target` routing: `DynamoDB_20120810.<Op>` and `DynamoDBStreams_20120810.<Op>`.

/// Every operation the store or proxy may be asked for. Unknown names are `None` from
/// [`Op::from_target`], which the server answers with UnknownOperationException.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    // control plane
    CreateTable,
    DescribeTable,
    ListTables,
    DeleteTable,
    UpdateTable,
    TagResource,
    UntagResource,
    ListTagsOfResource,
    DescribeLimits,
    DescribeEndpoints,
    UpdateTimeToLive,
    DescribeTimeToLive,
    CreateBackup,
    DescribeBackup,
    ListBackups,
    DeleteBackup,
    RestoreTableFromBackup,
    RestoreTableToPointInTime,
    UpdateContinuousBackups,
    DescribeContinuousBackups,
    UpdateContributorInsights,
    DescribeContributorInsights,
    ListContributorInsights,
    ExportTableToPointInTime,
    DescribeExport,
    ListExports,
    ImportTable,
    DescribeImport,
    ListImports,
    StartBulkPutItems,
    DescribeBulkOperation,
    ListBulkOperations,
    CancelBulkOperation,
    PutResourcePolicy,
    GetResourcePolicy,
    DeleteResourcePolicy,
    EnableKinesisStreamingDestination,
    DisableKinesisStreamingDestination,
    DescribeKinesisStreamingDestination,
    UpdateKinesisStreamingDestination,
    // global tables: the legacy (2017.11.29) calls and replica auto scaling
    CreateGlobalTable,
    DescribeGlobalTable,
    DescribeGlobalTableSettings,
    ListGlobalTables,
    UpdateGlobalTable,
    UpdateGlobalTableSettings,
    DescribeTableReplicaAutoScaling,
    UpdateTableReplicaAutoScaling,
    // data plane
    PutItem,
    GetItem,
    UpdateItem,
    DeleteItem,
    Query,
    Scan,
    BatchGetItem,
    BatchWriteItem,
    TransactGetItems,
    TransactWriteItems,
    SearchVectors,
    // PartiQL
    ExecuteStatement,
    BatchExecuteStatement,
    ExecuteTransaction,
    // streams API
    ListStreams,
    DescribeStream,
    GetShardIterator,
    GetRecords,
}

const DYNAMODB_PREFIX: &str = "DynamoDB_20120810.";
const STREAMS_PREFIX: &str = "DynamoDBStreams_20120810.";

impl Op {
    /// Every operation, in declaration order (`op as usize` indexes it).
    pub const ALL: [Op; 66] = [
        Op::CreateTable,
        Op::DescribeTable,
        Op::ListTables,
        Op::DeleteTable,
        Op::UpdateTable,
        Op::TagResource,
        Op::UntagResource,
        Op::ListTagsOfResource,
        Op::DescribeLimits,
        Op::DescribeEndpoints,
        Op::UpdateTimeToLive,
        Op::DescribeTimeToLive,
        Op::CreateBackup,
        Op::DescribeBackup,
        Op::ListBackups,
        Op::DeleteBackup,
        Op::RestoreTableFromBackup,
        Op::RestoreTableToPointInTime,
        Op::UpdateContinuousBackups,
        Op::DescribeContinuousBackups,
        Op::UpdateContributorInsights,
        Op::DescribeContributorInsights,
        Op::ListContributorInsights,
        Op::ExportTableToPointInTime,
        Op::DescribeExport,
        Op::ListExports,
        Op::ImportTable,
        Op::DescribeImport,
        Op::ListImports,
        Op::StartBulkPutItems,
        Op::DescribeBulkOperation,
        Op::ListBulkOperations,
        Op::CancelBulkOperation,
        Op::PutResourcePolicy,
        Op::GetResourcePolicy,
        Op::DeleteResourcePolicy,
        Op::EnableKinesisStreamingDestination,
        Op::DisableKinesisStreamingDestination,
        Op::DescribeKinesisStreamingDestination,
        Op::UpdateKinesisStreamingDestination,
        Op::CreateGlobalTable,
        Op::DescribeGlobalTable,
        Op::DescribeGlobalTableSettings,
        Op::ListGlobalTables,
        Op::UpdateGlobalTable,
        Op::UpdateGlobalTableSettings,
        Op::DescribeTableReplicaAutoScaling,
        Op::UpdateTableReplicaAutoScaling,
        Op::PutItem,
        Op::GetItem,
        Op::UpdateItem,
        Op::DeleteItem,
        Op::Query,
        Op::Scan,
        Op::BatchGetItem,
        Op::BatchWriteItem,
        Op::TransactGetItems,
        Op::TransactWriteItems,
        Op::SearchVectors,
        Op::ExecuteStatement,
        Op::BatchExecuteStatement,
        Op::ExecuteTransaction,
        Op::ListStreams,
        Op::DescribeStream,
        Op::GetShardIterator,
        Op::GetRecords,
    ];

    /// Parses an `X-Amz-Target` header value.
    pub fn from_target(target: &str) -> Option<Op> {
        if let Some(name) = target.strip_prefix(DYNAMODB_PREFIX) {
            Self::dynamodb_op(name)
        } else if let Some(name) = target.strip_prefix(STREAMS_PREFIX) {
            Self::streams_op(name)
        } else {
            None
        }
    }

    fn dynamodb_op(name: &str) -> Option<Op> {
        use Op::*;
        Some(match name {
            "CreateTable" => CreateTable,
            "DescribeTable" => DescribeTable,
            "ListTables" => ListTables,
            "DeleteTable" => DeleteTable,
            "UpdateTable" => UpdateTable,
            "TagResource" => TagResource,
            "UntagResource" => UntagResource,
            "ListTagsOfResource" => ListTagsOfResource,
            "DescribeLimits" => DescribeLimits,
            "DescribeEndpoints" => DescribeEndpoints,
            "UpdateTimeToLive" => UpdateTimeToLive,
            "DescribeTimeToLive" => DescribeTimeToLive,
            "CreateBackup" => CreateBackup,
            "DescribeBackup" => DescribeBackup,
            "ListBackups" => ListBackups,
            "DeleteBackup" => DeleteBackup,
            "RestoreTableFromBackup" => RestoreTableFromBackup,
            "RestoreTableToPointInTime" => RestoreTableToPointInTime,
            "UpdateContinuousBackups" => UpdateContinuousBackups,
            "DescribeContinuousBackups" => DescribeContinuousBackups,
            "UpdateContributorInsights" => UpdateContributorInsights,
            "DescribeContributorInsights" => DescribeContributorInsights,
            "ListContributorInsights" => ListContributorInsights,
            "ExportTableToPointInTime" => ExportTableToPointInTime,
            "DescribeExport" => DescribeExport,
            "ListExports" => ListExports,
            "ImportTable" => ImportTable,
            "DescribeImport" => DescribeImport,
            "ListImports" => ListImports,
            "StartBulkPutItems" => StartBulkPutItems,
            "DescribeBulkOperation" => DescribeBulkOperation,
            "ListBulkOperations" => ListBulkOperations,
            "CancelBulkOperation" => CancelBulkOperation,
            "PutResourcePolicy" => PutResourcePolicy,
            "GetResourcePolicy" => GetResourcePolicy,
            "DeleteResourcePolicy" => DeleteResourcePolicy,
            "EnableKinesisStreamingDestination" => EnableKinesisStreamingDestination,
            "DisableKinesisStreamingDestination" => DisableKinesisStreamingDestination,
            "DescribeKinesisStreamingDestination" => DescribeKinesisStreamingDestination,
            "UpdateKinesisStreamingDestination" => UpdateKinesisStreamingDestination,
            "CreateGlobalTable" => CreateGlobalTable,
            "DescribeGlobalTable" => DescribeGlobalTable,
            "DescribeGlobalTableSettings" => DescribeGlobalTableSettings,
            "ListGlobalTables" => ListGlobalTables,
            "UpdateGlobalTable" => UpdateGlobalTable,
            "UpdateGlobalTableSettings" => UpdateGlobalTableSettings,
            "DescribeTableReplicaAutoScaling" => DescribeTableReplicaAutoScaling,
            "UpdateTableReplicaAutoScaling" => UpdateTableReplicaAutoScaling,
            "PutItem" => PutItem,
            "GetItem" => GetItem,
            "UpdateItem" => UpdateItem,
            "DeleteItem" => DeleteItem,
            "Query" => Query,
            "Scan" => Scan,
            "BatchGetItem" => BatchGetItem,
            "BatchWriteItem" => BatchWriteItem,
            "TransactGetItems" => TransactGetItems,
            "TransactWriteItems" => TransactWriteItems,
            "SearchVectors" => SearchVectors,
            "ExecuteStatement" => ExecuteStatement,
            "BatchExecuteStatement" => BatchExecuteStatement,
            "ExecuteTransaction" => ExecuteTransaction,
            _ => return None,
        })
    }

    fn streams_op(name: &str) -> Option<Op> {
        Some(match name {
            "ListStreams" => Op::ListStreams,
            "DescribeStream" => Op::DescribeStream,
            "GetShardIterator" => Op::GetShardIterator,
            "GetRecords" => Op::GetRecords,
            _ => return None,
        })
    }

    /// The `X-Amz-Target` header value that names this operation (the Streams API's four
    /// operations under their own prefix).
    pub fn target(self) -> String {
        let prefix = match self {
            Op::ListStreams | Op::DescribeStream | Op::GetShardIterator | Op::GetRecords => {
                STREAMS_PREFIX
            }
            _ => DYNAMODB_PREFIX,
        };
        format!("{prefix}{}", self.name())
    }

    /// The operation's name, for metrics and logs.
    pub fn name(self) -> &'static str {
        use Op::*;
        match self {
            CreateTable => "CreateTable",
            DescribeTable => "DescribeTable",
            ListTables => "ListTables",
            DeleteTable => "DeleteTable",
            UpdateTable => "UpdateTable",
            TagResource => "TagResource",
            UntagResource => "UntagResource",
            ListTagsOfResource => "ListTagsOfResource",
            DescribeLimits => "DescribeLimits",
            DescribeEndpoints => "DescribeEndpoints",
            UpdateTimeToLive => "UpdateTimeToLive",
            DescribeTimeToLive => "DescribeTimeToLive",
            CreateBackup => "CreateBackup",
            DescribeBackup => "DescribeBackup",
            ListBackups => "ListBackups",
            DeleteBackup => "DeleteBackup",
            RestoreTableFromBackup => "RestoreTableFromBackup",
            RestoreTableToPointInTime => "RestoreTableToPointInTime",
            UpdateContinuousBackups => "UpdateContinuousBackups",
            DescribeContinuousBackups => "DescribeContinuousBackups",
            UpdateContributorInsights => "UpdateContributorInsights",
            DescribeContributorInsights => "DescribeContributorInsights",
            ListContributorInsights => "ListContributorInsights",
            ExportTableToPointInTime => "ExportTableToPointInTime",
            DescribeExport => "DescribeExport",
            ListExports => "ListExports",
            ImportTable => "ImportTable",
            DescribeImport => "DescribeImport",
            ListImports => "ListImports",
            StartBulkPutItems => "StartBulkPutItems",
            DescribeBulkOperation => "DescribeBulkOperation",
            ListBulkOperations => "ListBulkOperations",
            CancelBulkOperation => "CancelBulkOperation",
            PutResourcePolicy => "PutResourcePolicy",
            GetResourcePolicy => "GetResourcePolicy",
            DeleteResourcePolicy => "DeleteResourcePolicy",
            EnableKinesisStreamingDestination => "EnableKinesisStreamingDestination",
            DisableKinesisStreamingDestination => "DisableKinesisStreamingDestination",
            DescribeKinesisStreamingDestination => "DescribeKinesisStreamingDestination",
            UpdateKinesisStreamingDestination => "UpdateKinesisStreamingDestination",
            CreateGlobalTable => "CreateGlobalTable",
            DescribeGlobalTable => "DescribeGlobalTable",
            DescribeGlobalTableSettings => "DescribeGlobalTableSettings",
            ListGlobalTables => "ListGlobalTables",
            UpdateGlobalTable => "UpdateGlobalTable",
            UpdateGlobalTableSettings => "UpdateGlobalTableSettings",
            DescribeTableReplicaAutoScaling => "DescribeTableReplicaAutoScaling",
            UpdateTableReplicaAutoScaling => "UpdateTableReplicaAutoScaling",
            PutItem => "PutItem",
            GetItem => "GetItem",
            UpdateItem => "UpdateItem",
            DeleteItem => "DeleteItem",
            Query => "Query",
            Scan => "Scan",
            BatchGetItem => "BatchGetItem",
            BatchWriteItem => "BatchWriteItem",
            TransactGetItems => "TransactGetItems",
            TransactWriteItems => "TransactWriteItems",
            SearchVectors => "SearchVectors",
            ExecuteStatement => "ExecuteStatement",
            BatchExecuteStatement => "BatchExecuteStatement",
            ExecuteTransaction => "ExecuteTransaction",
            ListStreams => "ListStreams",
            DescribeStream => "DescribeStream",
            GetShardIterator => "GetShardIterator",
            GetRecords => "GetRecords",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_operation_at_its_index() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(Op::from_target(&op.target()), Some(*op));
        }
    }

    #[test]
    fn parses_both_prefixes_and_rejects_unknown() {
        assert_eq!(
            Op::from_target("DynamoDB_20120810.GetItem"),
            Some(Op::GetItem)
        );
        assert_eq!(
            Op::from_target("DynamoDBStreams_20120810.GetRecords"),
            Some(Op::GetRecords)
        );
        assert_eq!(Op::from_target("DynamoDB_20120810.Nope"), None);
        assert_eq!(Op::from_target("DynamoDB_20111205.GetItem"), None);
        for op in [Op::GetItem, Op::GetRecords, Op::DescribeLimits] {
            assert_eq!(Op::from_target(&op.target()), Some(op));
        }
    }
}
