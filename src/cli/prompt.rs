//! Reading answers the way upstream does: a line at a time in pieces of at most 127 bytes
//! (upstream reads with `fgets` into 128 bytes, so a longer line counts as several answers),
//! with the question repeated on the same line until the answer starts with y or n.

use std::io::{self, BufRead, Write};

/// The longest piece of a line read as one answer.
const PIECE: usize = 127;

/// Where answers come from and questions go.
pub struct Prompter<R, W> {
    input: R,
    output: W,
}

/// The input ended (or failed) before an answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndOfInput;

impl<R: BufRead, W: Write> Prompter<R, W> {
    /// Reads from `input` and writes questions to `output`.
    pub fn new(input: R, output: W) -> Self {
        Prompter { input, output }
    }

    /// Writes `text` and flushes; output errors are ignored, as upstream ignores them (a
    /// closed stdout must not stop the file from being written).
    pub fn say(&mut self, text: &str) {
        let _ = self.output.write_all(text.as_bytes());
        let _ = self.output.flush();
    }

    /// Asks a yes/no question: one newline first, then `<question> (y/n) ` until an answer
    /// starts with y/Y or n/N.
    pub fn ask(&mut self, question: &str) -> Result<bool, EndOfInput> {
        self.say("\n");
        loop {
            self.say(&format!("{question} (y/n) "));
            let piece = self.read_piece()?;
            match piece.first() {
                Some(b'y' | b'Y') => return Ok(true),
                Some(b'n' | b'N') => return Ok(false),
                _ => {}
            }
        }
    }

    /// Reads the next piece of input: up to and including a newline, at most 127 bytes.
    pub fn read_piece(&mut self) -> Result<Vec<u8>, EndOfInput> {
        let mut piece = Vec::new();
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(EndOfInput),
            };
            if available.is_empty() {
                return if piece.is_empty() {
                    Err(EndOfInput)
                } else {
                    Ok(piece)
                };
            }
            let room = (PIECE - piece.len()).min(available.len());
            let take = available[..room]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(room, |p| p + 1);
            piece.extend_from_slice(&available[..take]);
            self.input.consume(take);
            if piece.last() == Some(&b'\n') || piece.len() == PIECE {
                return Ok(piece);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_again_on_the_same_line() {
        let mut out = Vec::new();
        let answer = Prompter::new(&b"maybe\n\nYes\n"[..], &mut out).ask("Q?");
        assert_eq!(answer, Ok(true));
        assert_eq!(out, b"\nQ? (y/n) Q? (y/n) Q? (y/n) ");
    }

    #[test]
    fn end_of_input() {
        let mut out = Vec::new();
        assert_eq!(
            Prompter::new(&b"x\n"[..], &mut out).ask("Q?"),
            Err(EndOfInput)
        );
    }

    #[test]
    fn long_lines_are_read_in_pieces() {
        let mut line = vec![b'x'; 127];
        line.extend_from_slice(b"n\n");
        let mut out = Vec::new();
        let mut p = Prompter::new(&line[..], &mut out);
        assert_eq!(p.read_piece().unwrap().len(), 127);
        assert_eq!(p.read_piece().unwrap(), b"n\n");
        // The last piece is answered even without a newline.
        assert_eq!(Prompter::new(&b"n"[..], Vec::new()).ask("Q?"), Ok(false));
    }
}
