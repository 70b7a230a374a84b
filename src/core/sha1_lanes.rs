//! HMAC-SHA1 of eight-byte counters, several counters at once.
//!
//! Every login computes a window of codes, and a wrong TOTP code computes about 3000 more
//! (the time-skew search), all under one key. Each code is two SHA-1 compressions (the
//! inner block holds the counter, the outer block the inner digest), so the work is one
//! compression function run on many independent blocks. [`KeyedSha1::truncated`] runs
//! [`LANES`] of them side by side: every step of the compression is written as the same
//! operation on a vector of four 32-bit lanes (`wide::u32x4`: SSE2 on x86-64, NEON on
//! AArch64, plain arrays elsewhere; all part of the baseline instruction set). That needs
//! no run-time CPU detection: the `sha1` crate detects SHA extensions with CPUID on its
//! first call, a cache that dies with every unload of the module, and CPUID traps to the
//! hypervisor in a virtual machine, so every login would pay for it.
//!
//! Every lane runs every round: no branch depends on secret data. The one index that does
//! is RFC 4226's dynamic truncation, which every implementation has, into a 20-byte array.
//! The `sha1` and `hmac` crates remain the oracle the tests compare against, and compute
//! everything else (the SHA-2 variants, [`super::otp::hmac_sha1`]).
//!
//! The compression is written once, for any [`Vector`] of 32-bit lanes. The module may
//! also hand the skew search a [`Wide`] function that runs it on wider registers than the
//! baseline has (`os::simd`: AVX2 or AVX-512 on x86-64, when glibc reports them); this
//! code stays pure either way.

use std::ops::{Add, BitAnd, BitOr, BitXor};

use wide::u32x4;
use zeroize::Zeroize;

/// How many counters one batch computes: four 32-bit lanes fill one 128-bit register.
pub const LANES: usize = 4;

/// How many counters a [`Wide`] function computes at once.
pub const WIDE: usize = 16;

/// HMAC-SHA1 on [`WIDE`] counters at once, on vector registers wider than the baseline's:
/// given a key's inner and outer chaining values (see [`KeyedSha1::truncated_wide`]) and
/// the counters, returns RFC 4226's truncated word of each. Supplied by the module for the
/// CPU it runs on; it must give what [`KeyedSha1::truncated`] gives.
pub type Wide = fn(&[u32; 5], &[u32; 5], &[u64; WIDE]) -> [u32; WIDE];

/// Thirty-two-bit lanes that the compression runs on, all lanes alike.
pub trait Vector:
    Copy + Add<Output = Self> + BitAnd<Output = Self> + BitOr<Output = Self> + BitXor<Output = Self>
{
    /// Every lane set to `x`.
    fn splat(x: u32) -> Self;
    /// Every lane rotated left by `N` bits.
    fn rotl<const N: u32>(self) -> Self;
    /// One SHA-1 compression in each lane: inlined into the caller, so that code for wider
    /// registers is compiled with the caller's instruction set.
    #[inline(always)]
    fn compress(state: &mut [Self; 5], w: [Self; 16]) {
        compress(state, w);
    }
}

impl Vector for u32x4 {
    #[inline(always)]
    fn splat(x: u32) -> Self {
        u32x4::splat(x)
    }
    #[inline(always)]
    fn rotl<const N: u32>(self) -> Self {
        self.unbounded_shl_scalar(N) | self.unbounded_shr_scalar(32 - N)
    }
    /// One copy of the unrolled compression (10 KB) that every caller shares, so that the
    /// code a login runs stays small.
    #[inline(never)]
    fn compress(state: &mut [Self; 5], w: [Self; 16]) {
        compress(state, w);
    }
}

const H0: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
const K: [u32; 4] = [0x5A82_7999, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6];
const BLOCK: usize = 64;
/// The bit lengths HMAC's two hashes end with: a pad block plus the counter (8 bytes) or
/// plus the inner digest (20 bytes).
const INNER_BITS: u32 = (BLOCK as u32 + 8) * 8;
const OUTER_BITS: u32 = (BLOCK as u32 + 20) * 8;
const TERMINATOR: u32 = 0x8000_0000;

/// HMAC-SHA1 keyed once: the chaining values after the key's inner and outer pad blocks.
/// They stand for the key (anyone holding them computes every code), so they are wiped on
/// drop.
#[derive(Clone)]
pub struct KeyedSha1 {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl Drop for KeyedSha1 {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl KeyedSha1 {
    /// Keys HMAC-SHA1 with `key` (RFC 2104: keys longer than a block are hashed first).
    pub fn new(key: &[u8]) -> Self {
        let mut padded = [0u8; BLOCK];
        if key.len() > BLOCK {
            let mut digest = sha1(key);
            padded[..20].copy_from_slice(&digest);
            digest.zeroize();
        } else {
            padded[..key.len()].copy_from_slice(key);
        }
        // The inner and outer pad blocks in lanes 0 and 1 of one compression. (As in the
        // hmac crate, the compression's own copies in registers and on the stack are not
        // wiped; the buffers this function owns are.)
        let mut key = words(&padded);
        padded.zeroize();
        let mut state = H0.map(u32x4::splat);
        Vector::compress(
            &mut state,
            key.map(|w| u32x4::new([w ^ 0x3636_3636, w ^ 0x5c5c_5c5c, 0, 0])),
        );
        key.zeroize();
        let mut lanes = state.map(u32x4::to_array);
        let keyed = KeyedSha1 {
            inner: lanes.map(|l| l[0]),
            outer: lanes.map(|l| l[1]),
        };
        lanes.zeroize();
        keyed
    }

    /// The HMAC of each counter's eight big-endian bytes, as five big-endian words.
    pub fn digests(&self, counters: &[u64; LANES]) -> [[u32; 5]; LANES] {
        let outer = hmac_blocks(
            &self.inner,
            &self.outer,
            u32x4::new(counters.map(|c| (c >> 32) as u32)),
            u32x4::new(counters.map(|c| c as u32)),
        )
        .map(u32x4::to_array);
        std::array::from_fn(|l| outer.map(|lanes| lanes[l]))
    }

    /// RFC 4226's dynamically truncated 31-bit word for each counter.
    pub fn truncated(&self, counters: &[u64; LANES]) -> [u32; LANES] {
        self.digests(counters).map(truncate)
    }

    /// [`truncated`](Self::truncated) for [`WIDE`] counters, by `wide`.
    pub fn truncated_wide(&self, wide: Wide, counters: &[u64; WIDE]) -> [u32; WIDE] {
        wide(&self.inner, &self.outer, counters)
    }
}

/// The two compressions of HMAC-SHA1 for one eight-byte counter per lane, given as its
/// high and low words: the inner block (counter, terminator, length) from the key's inner
/// chaining value, then the outer block (inner digest, terminator, length) from its outer
/// one. Returns the HMAC as five words per lane.
#[inline(always)]
pub(crate) fn hmac_blocks<V: Vector>(
    inner: &[u32; 5],
    outer: &[u32; 5],
    high: V,
    low: V,
) -> [V; 5] {
    let zero = V::splat(0);
    let mut block = [zero; 16];
    block[0] = high;
    block[1] = low;
    block[2] = V::splat(TERMINATOR);
    block[15] = V::splat(INNER_BITS);
    let mut state = inner.map(V::splat);
    V::compress(&mut state, block);

    let mut block = [zero; 16];
    block[..5].copy_from_slice(&state);
    block[5] = V::splat(TERMINATOR);
    block[15] = V::splat(OUTER_BITS);
    let mut state = outer.map(V::splat);
    V::compress(&mut state, block);
    state
}

/// RFC 4226's dynamic truncation of one digest given as five words.
#[inline(always)]
pub fn truncate(digest: [u32; 5]) -> u32 {
    let mut bytes = [0u8; 20];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(digest) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    super::otp::dynamic_truncation(&bytes)
}

/// A 64-byte block as sixteen big-endian words.
fn words(block: &[u8; BLOCK]) -> [u32; 16] {
    std::array::from_fn(|i| {
        u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ])
    })
}

/// One compression of one block (in every lane; lane 0 is kept).
fn compress_one(state: [u32; 5], block: &[u32; 16]) -> [u32; 5] {
    let mut lanes = state.map(u32x4::splat);
    Vector::compress(&mut lanes, block.map(u32x4::splat));
    lanes.map(|v| v.to_array()[0])
}

/// SHA-1 of a whole message (for keys longer than a block).
fn sha1(message: &[u8]) -> [u8; 20] {
    let bit_length = (message.len() as u64).wrapping_mul(8);
    let full = message.len() / BLOCK * BLOCK;
    let rest = &message[full..];
    let mut tail = [0u8; 2 * BLOCK];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let tail_len = if rest.len() + 9 > BLOCK {
        2 * BLOCK
    } else {
        BLOCK
    };
    tail[tail_len - 8..tail_len].copy_from_slice(&bit_length.to_be_bytes());
    let mut state = H0;
    for chunk in message[..full]
        .chunks_exact(BLOCK)
        .chain(tail[..tail_len].chunks_exact(BLOCK))
    {
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(chunk);
        let mut w = words(&block);
        state = compress_one(state, &w);
        block.zeroize();
        w.zeroize();
    }
    tail.zeroize();
    let mut digest = [0u8; 20];
    for (chunk, word) in digest.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// One SHA-1 compression in each lane. The 80 rounds are spelled out (each with its
/// constants known) so that nothing in them is a run-time index or branch.
#[inline(always)]
fn compress<V: Vector>(state: &mut [V; 5], mut w: [V; 16]) {
    let mut s = *state;
    macro_rules! rounds {
        ($($t:literal)*) => { $( round::<V, $t>(&mut w, &mut s); )* };
    }
    rounds!(
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
        20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
        40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
        60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79
    );
    for (h, v) in state.iter_mut().zip(s) {
        *h = *h + v;
    }
}

/// Round `T`: extends the message schedule (from round 16 on, in place in a ring of 16
/// words) and moves the working variables `s = [a, b, c, d, e]` on by one.
#[inline(always)]
fn round<V: Vector, const T: usize>(w: &mut [V; 16], s: &mut [V; 5]) {
    if T >= 16 {
        let x = w[(T + 13) % 16] ^ w[(T + 8) % 16] ^ w[(T + 2) % 16] ^ w[T % 16];
        w[T % 16] = x.rotl::<1>();
    }
    let [a, b, c, d, e] = *s;
    let f = match T / 20 {
        0 => d ^ (b & (c ^ d)),
        2 => (b & c) | (d & (b | c)),
        _ => b ^ c ^ d,
    };
    let next = a.rotl::<5>() + f + (e + V::splat(K[T / 20]) + w[T % 16]);
    *s = [next, a, b.rotl::<30>(), c, d];
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    fn oracle(key: &[u8], counter: u64) -> [u8; 20] {
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    fn bytes(digest: [u32; 5]) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(digest) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn every_lane_matches_the_hmac_crate_for_keys_of_every_length() {
        // Lengths around the block size and the two-block padding boundary of the key hash.
        for len in (0..=130).chain([200, 1000]) {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let keyed = KeyedSha1::new(&key);
            let counters: [u64; LANES] = std::array::from_fn(|l| {
                (len as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(l as u32 * 8)
                    ^ l as u64
            });
            let digests = keyed.digests(&counters);
            for l in 0..LANES {
                let want = oracle(&key, counters[l]);
                assert_eq!(bytes(digests[l]), want, "key length {len}, lane {l}");
            }
        }
    }

    #[test]
    fn sha1_of_whole_messages_matches_the_sha1_crate() {
        use sha1::Digest;
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
            let message: Vec<u8> = (0..len).map(|i| i as u8 ^ 0xa5).collect();
            let want: [u8; 20] = sha1::Sha1::digest(&message).into();
            assert_eq!(sha1(&message), want, "length {len}");
        }
    }

    #[test]
    fn rfc4226_truncation() {
        let keyed = KeyedSha1::new(b"12345678901234567890");
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for first in 0..=want.len() - LANES {
            let words = keyed.truncated(&std::array::from_fn(|l| (first + l) as u64));
            assert_eq!(words.map(|w| w % 1_000_000), want[first..first + LANES]);
        }
    }
}
