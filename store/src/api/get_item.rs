//! get_item.
