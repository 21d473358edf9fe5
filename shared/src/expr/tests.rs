//! Tests of the public expression API: exact messages, evaluation and update semantics.

use super::*;
