//! Links the unwinder into the PAM module instead of loading `libgcc_s.so.1` with it.
//!
//! The module keeps `panic = "unwind"` so that a panic is caught at the PAM boundary
//! (`src/pam/guard.rs`) and becomes a failed login instead of an abort of sshd. Unwinding
//! needs an unwinder, and Rust's standard library asks for the shared one (`-lgcc_s`).
//! sshd, login and su do not link it, so every login would load and unload
//! `libgcc_s.so.1` with the module, the largest part of the module's load cost. On
//! GNU/Linux this script puts a linker script named `libgcc_s.so` first in the library
//! search path; it stands for GCC's static unwinder, `libgcc_eh.a` (the one
//! `gcc -static-libgcc` uses), so the module carries its own copy. Its symbols stay local
//! to the module: the version script rustc writes for a cdylib exports only the PAM entry
//! points. GCC 12's static unwinder finds unwind tables with glibc's `_dl_find_object`,
//! so a module built this way needs glibc 2.35 or newer (dpkg-shlibdeps and rpmbuild
//! record that in the package's dependencies).
//!
//! Set `GA_SHARED_UNWINDER=1` to build with the shared unwinder as before.
//!
//! It also gives the linker `link/hot-text.ld` for the module (and the other shared objects
//! of this package): the functions a login runs, placed together at the start of the code,
//! so that loading the module for a login faults in two or three windows of code instead
//! of all of them (see that file's header), and page-aligns the writable segments, which
//! relocation writes at every load. Set `GA_NO_HOT_TEXT=1` to link without either.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GA_SHARED_UNWINDER");
    println!("cargo:rerun-if-env-changed=GA_NO_HOT_TEXT");
    hot_text();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" || std::env::var_os("GA_SHARED_UNWINDER").is_some() {
        return;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let dir = out.join("static-unwinder");
    std::fs::create_dir_all(&dir).expect("create the unwinder's directory in OUT_DIR");
    std::fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n")
        .expect("write the unwinder's linker script in OUT_DIR");
    // Every target this package links: the module, the commands, and the test modules
    // built from the module's sources (tests/support/pam_panics.rs), which must unwind
    // the way the module does.
    println!("cargo:rustc-link-arg=-L{}", dir.display());
}

/// Passes `link/hot-text.ld` to the linker for the package's shared objects, on ELF targets.
fn hot_text() {
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if family != "unix" || os == "macos" || std::env::var_os("GA_NO_HOT_TEXT").is_some() {
        return;
    }
    let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    let script = root.join("link").join("hot-text.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    if script.is_file() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", script.display());
        // lld starts the writable segment at the file offset where the code ends, so
        // its 12 KB that relocation writes straddled four pages and `.data` two: every
        // load paid a copy-on-write fault per page. Page-aligned, they take three and
        // one. (GNU ld aligns the end of RELRO itself, and ignores this option with a
        // warning that rustc does not show.)
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,separate-loadable-segments");
    }
}
