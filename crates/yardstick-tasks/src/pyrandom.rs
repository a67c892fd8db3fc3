//! Python's `random.Random`, bit for bit, for the parts lm-eval's few-shot sampler uses.
//!
//! lm-eval draws few-shot examples with `random.Random(seed).sample(docs, k)`; matching
//! its prompts means matching CPython's Mersenne Twister, its integer seeding, its
//! `_randbelow` and both branches of `sample`.

const N: usize = 624;
const M: usize = 397;

/// CPython's `random.Random` (MT19937 core).
#[derive(Clone)]
pub struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        let mut key = vec![(seed & 0xffff_ffff) as u32];
        if seed >> 32 != 0 {
            key.push((seed >> 32) as u32);
        }
        let mut rng = Self {
            state: [0; N],
            index: N,
        };
        rng.init_by_array(&key);
        rng
    }

    /// `random.Random(seed)` for a string seed (CPython's version-2 seeding: the text's
    /// UTF-8 bytes followed by their SHA-512, read as one big-endian integer).
    pub fn from_str_seed(seed: &str) -> Self {
        use sha2::{Digest, Sha512};
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(seed.as_bytes()));
        // The integer's 32-bit words, least significant first, without leading zeros.
        bytes.reverse();
        let mut key: Vec<u32> = bytes
            .chunks(4)
            .map(|chunk| {
                let mut word = [0u8; 4];
                word[..chunk.len()].copy_from_slice(chunk);
                u32::from_le_bytes(word)
            })
            .collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        let mut rng = Self {
            state: [0; N],
            index: N,
        };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, seed: u32) {
        self.state[0] = seed;
        for i in 1..N {
            let prev = self.state[i - 1];
            self.state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mut value = self.state[(k + M) % N] ^ (y >> 1);
                if y & 1 != 0 {
                    value ^= 0x9908_b0df;
                }
                self.state[k] = value;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k <= 64`.
    fn getrandbits(&mut self, k: u32) -> u64 {
        if k <= 32 {
            return u64::from(self.next_u32() >> (32 - k));
        }
        // CPython fills 32-bit words from the least significant end.
        let low = u64::from(self.next_u32());
        let high = u64::from(self.next_u32() >> (64 - k));
        low | (high << 32)
    }

    /// `_randbelow(n)`: uniform in `0..n` by rejection sampling, `n > 0`.
    pub fn randbelow(&mut self, n: usize) -> usize {
        let bits = usize::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(bits) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `random.random()`: a float in [0, 1) from 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `sample(range(n), k)`: `k` distinct indices below `n`, in CPython's order.
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "sample larger than population");
        let mut set_size = 21usize;
        if k > 5 {
            // 4 ** ceil(log(k * 3, 4)), computed as CPython does, in floating point.
            let exponent = ((k * 3) as f64).ln() / 4f64.ln();
            set_size += 4usize.pow(exponent.ceil() as u32);
        }
        let mut result = Vec::with_capacity(k);
        if n <= set_size {
            let mut pool: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = self.randbelow(n - i);
                result.push(pool[j]);
                pool[j] = pool[n - i - 1];
            }
        } else {
            let mut selected = std::collections::HashSet::with_capacity(k);
            for _ in 0..k {
                let mut j = self.randbelow(n);
                while selected.contains(&j) {
                    j = self.randbelow(n);
                }
                selected.insert(j);
                result.push(j);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11:
    //   r = random.Random(1234); [r.random() for _ in range(3)]
    //   random.Random(1234).sample(range(100), 5)
    //   random.Random(1234).sample(range(10), 5)
    //   random.Random(42).sample(range(1000), 8)
    #[test]
    fn string_seeds_match_cpython() {
        // python3 -c "import random; r = random.Random(s); print(r.random(), r.random())"
        for (seed, first, second) in [
            (
                "is_switched_outputsWhat is 2+2?0",
                0.05631924392020804,
                0.09815002237016135,
            ),
            ("abc", 0.7720246314157545, 0.5581691373899791),
            ("", 0.9602256525641875, 0.595411957851699),
        ] {
            let mut rng = PyRandom::from_str_seed(seed);
            assert_eq!((rng.random(), rng.random()), (first, second), "{seed:?}");
        }
    }

    #[test]
    fn random_floats_match_cpython() {
        let mut r = PyRandom::new(1234);
        let got: Vec<f64> = (0..3).map(|_| r.random()).collect();
        assert_eq!(
            got,
            vec![0.9664535356921388, 0.4407325991753527, 0.007491470058587191]
        );
    }

    #[test]
    fn sample_matches_cpython_both_branches() {
        assert_eq!(
            PyRandom::new(1234).sample_indices(100, 5),
            vec![99, 56, 14, 0, 11]
        );
        assert_eq!(
            PyRandom::new(1234).sample_indices(10, 5),
            vec![7, 1, 0, 9, 4]
        );
        assert_eq!(
            PyRandom::new(42).sample_indices(1000, 8),
            vec![654, 114, 25, 759, 281, 250, 228, 142]
        );
    }
}
