//! HMAC-SHA1 on sixteen counters at once with the wide vector registers of the CPU the
//! module runs on: AVX-512 (sixteen lanes) or AVX2 (eight lanes, twice), on x86-64.
//!
//! A wrong TOTP code costs a search over about 3000 counters (the skew search), the path
//! that brute force takes; the baseline code (`core::sha1_lanes`, SSE2) computes four
//! at a time. Which instructions the CPU and the kernel allow comes from glibc, which
//! examined the CPU when the process started (`__x86_get_cpuid_feature_leaf`, glibc 2.33):
//! no CPUID instruction runs here (CPUID traps to the hypervisor in a virtual machine, and
//! a cache of our own would die with every unload of the module).
//!
//! The compression is `core::sha1_lanes`'s own, instantiated for these registers and
//! inlined into functions compiled for their instruction set; every lane runs every round,
//! as there. The tests compare each backend the machine has with the portable one.

use crate::core::sha1_lanes::Wide;

/// The widest HMAC-SHA1 this CPU runs, if one is wider than the baseline's four lanes.
#[must_use]
pub fn sha1_wide() -> Option<Wide> {
    #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
    {
        x86::best()
    }
    #[cfg(not(all(target_arch = "x86_64", target_env = "gnu")))]
    {
        None
    }
}

#[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
mod x86 {
    use std::arch::x86_64::{
        __m256i, __m512i, _mm_cvtsi32_si128, _mm256_add_epi32, _mm256_and_si256,
        _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi32, _mm256_sll_epi32, _mm256_srl_epi32,
        _mm256_storeu_si256, _mm256_xor_si256, _mm512_add_epi32, _mm512_and_si512,
        _mm512_loadu_si512, _mm512_or_si512, _mm512_rolv_epi32, _mm512_set1_epi32,
        _mm512_storeu_si512, _mm512_xor_si512,
    };
    use std::ops::{Add, BitAnd, BitOr, BitXor};

    use crate::core::sha1_lanes::{Vector, WIDE, Wide, hmac_blocks, truncate};

    /// glibc's record of one CPUID leaf (`struct cpuid_feature`, `<sys/platform/x86.h>`):
    /// the registers as CPUID returned them, and the bits of features the process may use.
    #[repr(C)]
    struct CpuidFeature {
        cpuid: [u32; 4],
        active: [u32; 4],
    }

    unsafe extern "C" {
        fn __x86_get_cpuid_feature_leaf(leaf: u32) -> *const CpuidFeature;
    }

    /// glibc's index of CPUID leaf 7 (`CPUID_INDEX_7`) and the register and bits there.
    const CPUID_INDEX_7: u32 = 1;
    const EBX: usize = 1;
    const AVX2: u32 = 1 << 5;
    const AVX512F: u32 = 1 << 16;

    pub(super) fn best() -> Option<Wide> {
        // SAFETY: glibc returns a pointer into its own table of CPU features, filled before
        // the process ran any code of ours and never written after, valid for as long as
        // the process lives (for a leaf it does not know, a pointer to zeros).
        let ebx = unsafe { (*__x86_get_cpuid_feature_leaf(CPUID_INDEX_7)).active[EBX] };
        if ebx & AVX512F != 0 {
            Some(with_avx512)
        } else if ebx & AVX2 != 0 {
            Some(with_avx2)
        } else {
            None
        }
    }

    fn with_avx512(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64; WIDE]) -> [u32; WIDE] {
        // SAFETY: `best` hands this function out only when glibc reports AVX-512F usable.
        unsafe { avx512(inner, outer, counters) }
    }

    fn with_avx2(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64; WIDE]) -> [u32; WIDE] {
        let half = |from: usize| -> [u64; 8] { std::array::from_fn(|i| counters[from + i]) };
        // SAFETY: `best` hands this function out only when glibc reports AVX2 usable.
        let (a, b) = unsafe { (avx2(inner, outer, &half(0)), avx2(inner, outer, &half(8))) };
        std::array::from_fn(|i| if i < 8 { a[i] } else { b[i - 8] })
    }

    /// Sixteen lanes of HMAC-SHA1 in one AVX-512 register.
    #[target_feature(enable = "avx512f")]
    fn avx512(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64; WIDE]) -> [u32; WIDE] {
        truncated::<Z, WIDE>(inner, outer, counters)
    }

    /// Eight lanes of HMAC-SHA1 in one AVX2 register.
    #[target_feature(enable = "avx2")]
    fn avx2(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64; 8]) -> [u32; 8] {
        truncated::<Y, 8>(inner, outer, counters)
    }

    /// A register of `N` lanes, filled from and emptied into arrays.
    trait Lanes<const N: usize>: Vector {
        fn load(words: [u32; N]) -> Self;
        fn store(self) -> [u32; N];
    }

    /// RFC 4226's truncated word of HMAC-SHA1 for each of `N` counters, one per lane of `V`.
    /// Inlined into the caller, which is compiled for `V`'s instruction set.
    #[inline(always)]
    fn truncated<V: Lanes<N>, const N: usize>(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: &[u64; N],
    ) -> [u32; N] {
        let high = V::load(counters.map(|c| (c >> 32) as u32));
        let low = V::load(counters.map(|c| c as u32));
        let digest = hmac_blocks(inner, outer, high, low).map(V::store);
        std::array::from_fn(|lane| truncate(digest.map(|words| words[lane])))
    }

    impl Lanes<16> for Z {
        #[inline(always)]
        fn load(words: [u32; 16]) -> Z {
            // SAFETY: see the type; `words` is 64 bytes, the size of the (unaligned) load.
            Z(unsafe { _mm512_loadu_si512(words.as_ptr().cast()) })
        }
        #[inline(always)]
        fn store(self) -> [u32; 16] {
            let mut words = [0u32; 16];
            // SAFETY: see the type; `words` is 64 bytes, the size of the (unaligned) store.
            unsafe { _mm512_storeu_si512(words.as_mut_ptr().cast(), self.0) };
            words
        }
    }

    impl Lanes<8> for Y {
        #[inline(always)]
        fn load(words: [u32; 8]) -> Y {
            // SAFETY: see the type; `words` is 32 bytes, the size of the (unaligned) load.
            Y(unsafe { _mm256_loadu_si256(words.as_ptr().cast()) })
        }
        #[inline(always)]
        fn store(self) -> [u32; 8] {
            let mut words = [0u32; 8];
            // SAFETY: see the type; `words` is 32 bytes, the size of the (unaligned) store.
            unsafe { _mm256_storeu_si256(words.as_mut_ptr().cast(), self.0) };
            words
        }
    }

    /// Sixteen lanes in an AVX-512 register. Values exist only inside [`avx512`], which is
    /// compiled for AVX-512F and runs only where glibc reports it; the operations are
    /// inlined into it.
    #[derive(Clone, Copy)]
    struct Z(__m512i);

    /// Eight lanes in an AVX2 register; as [`Z`], inside [`avx2`] only.
    #[derive(Clone, Copy)]
    struct Y(__m256i);

    /// The operators of a lane type from its intrinsics.
    macro_rules! lanes {
        ($t:ident, $add:ident, $and:ident, $or:ident, $xor:ident) => {
            impl Add for $t {
                type Output = $t;
                #[inline(always)]
                fn add(self, o: $t) -> $t {
                    // SAFETY: see the type: only ever run where the feature is usable.
                    $t(unsafe { $add(self.0, o.0) })
                }
            }
            impl BitAnd for $t {
                type Output = $t;
                #[inline(always)]
                fn bitand(self, o: $t) -> $t {
                    // SAFETY: as for `add`.
                    $t(unsafe { $and(self.0, o.0) })
                }
            }
            impl BitOr for $t {
                type Output = $t;
                #[inline(always)]
                fn bitor(self, o: $t) -> $t {
                    // SAFETY: as for `add`.
                    $t(unsafe { $or(self.0, o.0) })
                }
            }
            impl BitXor for $t {
                type Output = $t;
                #[inline(always)]
                fn bitxor(self, o: $t) -> $t {
                    // SAFETY: as for `add`.
                    $t(unsafe { $xor(self.0, o.0) })
                }
            }
        };
    }

    lanes!(
        Z,
        _mm512_add_epi32,
        _mm512_and_si512,
        _mm512_or_si512,
        _mm512_xor_si512
    );
    lanes!(
        Y,
        _mm256_add_epi32,
        _mm256_and_si256,
        _mm256_or_si256,
        _mm256_xor_si256
    );

    impl Vector for Z {
        #[inline(always)]
        fn splat(x: u32) -> Z {
            // SAFETY: as for `add`.
            Z(unsafe { _mm512_set1_epi32(x as i32) })
        }
        #[inline(always)]
        fn rotl<const N: u32>(self) -> Z {
            // SAFETY: as for `add`. (A rotate by a constant: the compiler emits the
            // immediate form.)
            Z(unsafe { _mm512_rolv_epi32(self.0, _mm512_set1_epi32(N as i32)) })
        }
    }

    impl Vector for Y {
        #[inline(always)]
        fn splat(x: u32) -> Y {
            // SAFETY: as for `add`.
            Y(unsafe { _mm256_set1_epi32(x as i32) })
        }
        #[inline(always)]
        fn rotl<const N: u32>(self) -> Y {
            // SAFETY: as for `add`. (Shifts by constants: the compiler emits the
            // immediate forms.)
            Y(unsafe {
                _mm256_or_si256(
                    _mm256_sll_epi32(self.0, _mm_cvtsi32_si128(N as i32)),
                    _mm256_srl_epi32(self.0, _mm_cvtsi32_si128(32 - N as i32)),
                )
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::core::sha1_lanes::{KeyedSha1, LANES};

        /// The portable four lanes, sixteen counters at a time.
        fn portable(key: &KeyedSha1, counters: &[u64; WIDE]) -> [u32; WIDE] {
            let mut out = [0u32; WIDE];
            for (chunk, words) in counters
                .chunks_exact(LANES)
                .zip(out.chunks_exact_mut(LANES))
            {
                let chunk: &[u64; LANES] = chunk.try_into().unwrap();
                words.copy_from_slice(&key.truncated(chunk));
            }
            out
        }

        fn ebx() -> u32 {
            // SAFETY: as in `best`.
            unsafe { (*__x86_get_cpuid_feature_leaf(CPUID_INDEX_7)).active[EBX] }
        }

        #[test]
        fn every_backend_this_machine_has_matches_the_portable_lanes() {
            let mut backends: Vec<(&str, Wide)> = Vec::new();
            if ebx() & AVX2 != 0 {
                backends.push(("avx2", with_avx2));
            }
            if ebx() & AVX512F != 0 {
                backends.push(("avx512", with_avx512));
            }
            if backends.is_empty() {
                eprintln!("neither AVX2 nor AVX-512 on this machine: nothing to compare");
            }
            for key_len in [0usize, 1, 10, 20, 63, 64, 65, 100] {
                let key: Vec<u8> = (0..key_len).map(|i| (i * 37 + 11) as u8).collect();
                let keyed = KeyedSha1::new(&key);
                let counters: [u64; WIDE] = std::array::from_fn(|i| {
                    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (key_len as u64) << 40
                });
                let want = portable(&keyed, &counters);
                for (name, wide) in &backends {
                    assert_eq!(
                        keyed.truncated_wide(*wide, &counters),
                        want,
                        "{name}, key of {key_len} bytes"
                    );
                }
            }
        }

        #[test]
        fn glibc_reports_what_the_cpu_has() {
            assert_eq!(
                ebx() & AVX2 != 0,
                std::arch::is_x86_feature_detected!("avx2"),
                "AVX2"
            );
            assert_eq!(
                ebx() & AVX512F != 0,
                std::arch::is_x86_feature_detected!("avx512f"),
                "AVX-512F"
            );
        }
    }
}
