//! The QR code printed in every mode decodes back to the printed otpauth URL.
//!
//! The terminal output is parsed back into a bit matrix (half blocks for the UTF8 modes,
//! reverse-video switches for the ANSI modes) and decoded with `rqrr`, once from the module
//! grid and once from a scaled-up grey image with the quiet zone, as a camera would see it.

use crate::support::cli::*;
use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::{Algorithm, OtpKey};

const ESC_RESET: &str = "\x1b[0m";
const ESC_REVERSE: &str = "\x1b[7m";
const ESC_NO_REVERSE: &str = "\x1b[27m";
const ESC_GREY: &str = "\x1b[30;47m";

/// Runs with `-Q mode` (stdout is a pipe, so the code is printed as upstream HEAD does) and
/// gives the QR output and the printed URL.
fn qr_output(mode: &str, label: &str) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &[
            "-t", "-f", "-C", "-D", "-W", "-u", "-Q", mode, "-l", label, "-S", "45",
        ],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    let url = printed_url(&text);
    let qr = text[..text.find("Your otpauth URL is: ").unwrap()].to_owned();
    (qr, url)
}

fn setup_of(mode: &str) -> &'static str {
    if mode.ends_with("INVERSE") {
        ESC_REVERSE
    } else if mode.ends_with("GREY") {
        ESC_GREY
    } else {
        ""
    }
}

/// Parses the UTF8 modes: two module rows per line.
fn parse_utf8(qr: &str, mode: &str) -> Vec<Vec<bool>> {
    let setup = setup_of(mode);
    let body = qr.strip_prefix(ESC_RESET).expect("starts with a reset");
    let lines: Vec<&str> = body.lines().collect();
    let width = lines[0]
        .strip_prefix(setup)
        .unwrap()
        .strip_suffix(ESC_RESET)
        .unwrap()
        .len()
        - 4;
    let mut rows = Vec::new();
    for line in &lines[1..lines.len() - 1] {
        let inner = line
            .strip_prefix(setup)
            .and_then(|l| l.strip_prefix("  "))
            .and_then(|l| l.strip_suffix(ESC_RESET))
            .and_then(|l| l.strip_suffix("  "))
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in inner.chars() {
            let (t, b) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?}"),
            };
            top.push(t);
            bottom.push(b);
        }
        assert_eq!(top.len(), width);
        rows.push(top);
        rows.push(bottom);
    }
    // The last line's lower half is below the code when the width is odd.
    assert!(rows.len() == width || rows.len() == width + 1);
    if rows.len() > width {
        assert!(rows.pop().unwrap().iter().all(|&d| !d));
    }
    assert_eq!(
        lines.last().unwrap(),
        &format!("{setup}{}{ESC_RESET}", " ".repeat(width + 4))
    );
    rows
}

/// Parses the ANSI modes: two spaces per module, reverse video switched on and off.
fn parse_ansi(qr: &str, mode: &str) -> Vec<Vec<bool>> {
    let setup = setup_of(mode);
    let (to_dark, to_light) = if mode.ends_with("INVERSE") {
        (ESC_NO_REVERSE, ESC_REVERSE)
    } else {
        (ESC_REVERSE, ESC_NO_REVERSE)
    };
    let body = qr.strip_prefix(ESC_RESET).expect("starts with a reset");
    let lines: Vec<&str> = body.lines().collect();
    let width = (lines[0].len() - setup.len() - ESC_RESET.len()) / 2 - 4;
    for border in [0, 1, lines.len() - 2, lines.len() - 1] {
        assert_eq!(
            lines[border],
            format!("{setup}{}{ESC_RESET}", "  ".repeat(width + 4))
        );
    }
    assert_eq!(lines.len(), width + 4);
    let mut rows = Vec::new();
    for line in &lines[2..lines.len() - 2] {
        let mut rest = line
            .strip_prefix(setup)
            .and_then(|l| l.strip_prefix("    "))
            .and_then(|l| l.strip_suffix(ESC_RESET))
            .and_then(|l| l.strip_suffix("    "))
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let mut dark = false;
        let mut row = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix(to_dark) {
                assert!(!dark, "a switch to the state it is in: {line:?}");
                dark = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix(to_light) {
                assert!(dark, "a switch to the state it is in: {line:?}");
                dark = false;
                rest = r;
            } else {
                rest = rest.strip_prefix("  ").expect("two spaces per module");
                row.push(dark);
            }
        }
        assert!(!dark, "every row ends switched back to light: {line:?}");
        assert_eq!(row.len(), width);
        rows.push(row);
    }
    rows
}

fn decode_grid(rows: &[Vec<bool>]) -> String {
    let grid = rqrr::SimpleGrid::from_func(rows.len(), |x, y| rows[y][x]);
    rqrr::Grid::new(grid).decode().expect("the grid decodes").1
}

/// Draws the matrix as a camera would see it (4 modules of quiet zone, 4 pixels a module)
/// and lets rqrr find and decode it.
fn decode_image(rows: &[Vec<bool>]) -> String {
    const SCALE: usize = 4;
    let side = (rows.len() + 8) * SCALE;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        let (mx, my) = ((x / SCALE).wrapping_sub(4), (y / SCALE).wrapping_sub(4));
        let dark = mx < rows.len() && my < rows.len() && rows[my][mx];
        if dark { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().expect("the picture decodes").1
}

#[test]
fn utf8_modes_decode_to_the_url() {
    for mode in ["UTF8", "UTF8_INVERSE", "UTF8_GREY"] {
        let (qr, url) = qr_output(mode, "alice@example.com");
        let rows = parse_utf8(&qr, mode);
        assert_eq!(decode_grid(&rows), url, "{mode}");
        assert_eq!(decode_image(&rows), url, "{mode}");
        assert!(url.ends_with("&period=45"), "{url}");
    }
}

#[test]
fn ansi_modes_decode_to_the_url() {
    for mode in ["ANSI", "ansi-inverse", "ANSI_GREY"] {
        let (qr, url) = qr_output(mode, "bob@host with spaces & more");
        let rows = parse_ansi(&qr, &mode.to_ascii_uppercase().replace('-', "_"));
        assert_eq!(decode_grid(&rows), url, "{mode}");
        assert_eq!(decode_image(&rows), url, "{mode}");
        assert!(
            url.contains("bob@host%20with%20spaces%20%26%20more"),
            "{url}"
        );
    }
}

#[test]
fn the_default_mode_is_ansi_and_none_prints_only_the_url() {
    let home = tempfile::tempdir().unwrap();
    let args = ["-t", "-f", "-C", "-D", "-W", "-u"];
    let output = run(home.path(), &args, None);
    let text = stdout(&output);
    let qr = &text[..text.find("Your otpauth URL is: ").unwrap()];
    assert_eq!(decode_grid(&parse_ansi(qr, "ANSI")), printed_url(&text));

    let mut none = args.to_vec();
    none.extend(["-Q", "none"]);
    let text = stdout(&run(home.path(), &none, None));
    assert!(
        text.starts_with("Your otpauth URL is: otpauth://totp/"),
        "{text:?}"
    );
    assert!(!text.contains('\x1b'));
}

#[test]
fn the_url_with_digits_and_algorithm_decodes_from_the_qr_code() {
    for (flags, tail, algorithm, digits) in [
        (
            &["-t", "-a", "sha256", "-g", "8"][..],
            "&digits=8&algorithm=SHA256",
            Algorithm::Sha256,
            8,
        ),
        (
            &["-t", "-a", "SHA512", "-g", "7", "-S", "60"][..],
            "&period=60&digits=7&algorithm=SHA512",
            Algorithm::Sha512,
            7,
        ),
        (
            &["-c", "-g", "8"][..],
            "&counter=1&digits=8",
            Algorithm::Sha1,
            8,
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        let mut args = flags.to_vec();
        args.extend([
            "-f",
            "-C",
            "-W",
            "-u",
            "-Q",
            "UTF8",
            "-l",
            "carol@example.com",
        ]);
        if flags[0] == "-t" {
            args.push("-D");
        }
        let output = run(home.path(), &args, None);
        assert!(output.status.success(), "{output:?}");
        let text = stdout(&output);
        let url = printed_url(&text);
        let qr = &text[..text.find("Your otpauth URL is: ").unwrap()];
        let rows = parse_utf8(qr, "UTF8");
        assert_eq!(decode_image(&rows), url, "{flags:?}");
        assert!(url.ends_with(tail), "{url}");
        // The secret in the decoded URL gives the codes the file asks for.
        let secret = printed_secret(&text);
        assert!(url.contains(&format!("secret={secret}&")), "{url}");
        let key = OtpKey::with(
            &base32::decode(secret.as_bytes()).unwrap(),
            algorithm,
            digits,
        )
        .unwrap();
        let oath_flags = if flags[0] == "-c" {
            vec![
                "-c".to_string(),
                "1".to_string(),
                format!("--digits={digits}"),
            ]
        } else {
            vec![
                format!("--totp={}", algorithm.name().to_ascii_lowercase()),
                format!("--digits={digits}"),
                "-N".to_string(),
                "@1000000020".to_string(),
                "-s".to_string(),
                if flags.contains(&"60") { "60s" } else { "30s" }.to_string(),
            ]
        };
        let counter = if flags[0] == "-c" {
            1
        } else if flags.contains(&"60") {
            1_000_000_020 / 60
        } else {
            1_000_000_020 / 30
        };
        let oath_args: Vec<&str> = oath_flags.iter().map(String::as_str).collect();
        assert_eq!(
            oathtool(&secret, &oath_args).parse::<u32>().unwrap(),
            key.code(counter),
            "{flags:?}"
        );
    }
}
