//! The legacy (pre-expression) parameters, translated into expression trees so that one
//! evaluator serves both: Expected + ConditionalOperator, QueryFilter/ScanFilter,
//! AttributeUpdates, AttributesToGet, KeyConditions.
