//! An `LD_PRELOAD` shim for the integration tests: `fdatasync` waits while the file named
//! by `SYNC_STALL_WHILE` exists, then syncs for real. A test holds a store's journal sync
//! open this way and looks at what the store serves meanwhile, through the real engine,
//! which no fault injection inside the store could show. While it waits it keeps the file
//! `<SYNC_STALL_WHILE>.stalled`, so the test knows a sync is being held.

use std::ffi::c_int;
use std::path::PathBuf;
use std::time::Duration;

type Fdatasync = unsafe extern "C" fn(c_int) -> c_int;

/// Interposes the C library's `fdatasync` (std's `File::sync_data` calls it).
///
/// # Safety
/// Called as `fdatasync(2)` is, with any file descriptor.
#[no_mangle]
pub unsafe extern "C" fn fdatasync(fd: c_int) -> c_int {
    if let Some(trigger) = std::env::var_os("SYNC_STALL_WHILE").map(PathBuf::from) {
        let mut marker = trigger.clone().into_os_string();
        marker.push(".stalled");
        let mut marked = false;
        while trigger.exists() {
            if !marked {
                marked = std::fs::write(&marker, b"").is_ok();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if marked {
            let _ = std::fs::remove_file(&marker);
        }
    }
    // SAFETY: RTLD_NEXT finds the next `fdatasync` after this library, the C library's,
    // whose type is `Fdatasync`; a missing one (no C library) would be null and is refused.
    let real = unsafe { libc::dlsym(libc::RTLD_NEXT, c"fdatasync".as_ptr()) };
    if real.is_null() {
        return -1;
    }
    let real: Fdatasync = unsafe { std::mem::transmute::<*mut libc::c_void, Fdatasync>(real) };
    unsafe { real(fd) }
}
