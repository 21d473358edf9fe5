//! tags.
