//! Integration test harness (filled in by the tests work).
