//! update_item.
