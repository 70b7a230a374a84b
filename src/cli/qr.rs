//! Drawing the QR code on a terminal, in upstream's seven styles.
//!
//! The code is made at error correction level M, like upstream's. The ANSI styles draw each
//! module as two spaces and switch reverse video on and off; the UTF8 styles pack two module
//! rows into one line of half blocks. The escape sequences and the quiet zone are upstream's,
//! byte for byte, so output that scripts or terminals handled before looks the same.

use qrcode::{Color, EcLevel, QrCode};

use super::options::QrMode;

const RESET: &str = "\x1b[0m";
const REVERSE: &str = "\x1b[7m";
const NO_REVERSE: &str = "\x1b[27m";
const GREY: &str = "\x1b[30;47m";

/// A QR code as a square of dark (`true`) and light modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    width: usize,
    dark: Vec<bool>,
}

impl Matrix {
    /// Encodes `data` at error correction level M; `None` when it does not fit a QR code.
    #[must_use]
    pub fn encode(data: &[u8]) -> Option<Matrix> {
        let code = QrCode::with_error_correction_level(data, EcLevel::M).ok()?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Some(Matrix { width, dark })
    }

    /// The number of modules per side.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        y < self.width && self.dark[y * self.width + x]
    }
}

/// The terminal columns `mode` needs for `matrix` (including the quiet zone).
#[must_use]
pub(crate) fn columns_needed(matrix: &Matrix, mode: QrMode) -> usize {
    match mode {
        QrMode::None => 0,
        QrMode::Ansi | QrMode::AnsiInverse | QrMode::AnsiGrey => 2 * (matrix.width + 4),
        QrMode::Utf8 | QrMode::Utf8Inverse | QrMode::Utf8Grey => matrix.width + 4,
    }
}

/// Draws `matrix` in `mode`; empty for [`QrMode::None`].
#[must_use]
pub fn render(matrix: &Matrix, mode: QrMode) -> String {
    match mode {
        QrMode::None => String::new(),
        QrMode::Ansi => ansi(matrix, "", false),
        QrMode::AnsiInverse => ansi(matrix, REVERSE, true),
        QrMode::AnsiGrey => ansi(matrix, GREY, false),
        QrMode::Utf8 => utf8(matrix, ""),
        QrMode::Utf8Inverse => utf8(matrix, REVERSE),
        QrMode::Utf8Grey => utf8(matrix, GREY),
    }
}

fn ansi(m: &Matrix, setup: &str, inverse: bool) -> String {
    let (to_dark, to_light) = if inverse {
        (NO_REVERSE, REVERSE)
    } else {
        (REVERSE, NO_REVERSE)
    };
    let border = format!("{setup}{}{RESET}\n", "  ".repeat(m.width + 4));
    let mut out = String::from(RESET);
    out.push_str(&border);
    out.push_str(&border);
    for y in 0..m.width {
        out.push_str(setup);
        out.push_str("    ");
        let mut dark = false;
        for x in 0..m.width {
            let here = m.is_dark(x, y);
            if here != dark {
                out.push_str(if here { to_dark } else { to_light });
                dark = here;
            }
            out.push_str("  ");
        }
        if dark {
            out.push_str(to_light);
        }
        out.push_str("    ");
        out.push_str(RESET);
        out.push('\n');
    }
    out.push_str(&border);
    out.push_str(&border);
    out
}

fn utf8(m: &Matrix, setup: &str) -> String {
    let border = format!("{setup}{}{RESET}\n", " ".repeat(m.width + 4));
    let mut out = String::from(RESET);
    out.push_str(&border);
    for y in (0..m.width).step_by(2) {
        out.push_str(setup);
        out.push_str("  ");
        for x in 0..m.width {
            out.push(match (m.is_dark(x, y), m.is_dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str("  ");
        out.push_str(RESET);
        out.push('\n');
    }
    out.push_str(&border);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Matrix {
        // 3x3 is no QR code, but shows every case of the drawing rules.
        Matrix {
            width: 3,
            dark: vec![true, false, true, false, true, true, true, false, false],
        }
    }

    #[test]
    fn ansi_bytes() {
        let border = format!("{}{RESET}\n", "  ".repeat(7));
        let expected = format!(
            "{RESET}{border}{border}\
             {}{REVERSE}  {NO_REVERSE}  {REVERSE}  {NO_REVERSE}    {RESET}\n\
             {}  {REVERSE}    {NO_REVERSE}    {RESET}\n\
             {}{REVERSE}  {NO_REVERSE}        {RESET}\n\
             {border}{border}",
            "    ", "    ", "    "
        );
        assert_eq!(render(&tiny(), QrMode::Ansi), expected);
    }

    #[test]
    fn ansi_inverse_swaps_the_switches() {
        let out = render(&tiny(), QrMode::AnsiInverse);
        assert!(out.starts_with(&format!("{RESET}{REVERSE}  ")));
        assert!(out.contains(&format!(
            "{REVERSE}    {NO_REVERSE}  {REVERSE}  {NO_REVERSE}  {REVERSE}    {RESET}\n"
        )));
    }

    #[test]
    fn utf8_bytes() {
        let border = format!("{}{RESET}\n", " ".repeat(7));
        let expected = format!("{RESET}{border}  ▀▄█  {RESET}\n  ▀    {RESET}\n{border}");
        assert_eq!(render(&tiny(), QrMode::Utf8), expected);
        let grey = render(&tiny(), QrMode::Utf8Grey);
        assert!(grey.starts_with(&format!("{RESET}{GREY}       {RESET}\n{GREY}  ▀▄█")));
    }

    #[test]
    fn widths() {
        let m = Matrix::encode(b"otpauth://totp/x?secret=A").unwrap();
        assert_eq!(m.width(), 25);
        assert_eq!(columns_needed(&m, QrMode::Ansi), 58);
        assert_eq!(columns_needed(&m, QrMode::Utf8Grey), 29);
        assert_eq!(render(&m, QrMode::None), "");
    }
}
