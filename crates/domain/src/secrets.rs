//! Secret encryption compatible with elizaOS 1.7.2 (`core/src/settings.ts`):
//! AES-256-CBC, key = SHA-256(`SECRET_SALT`), random IV, stored as `"<iv hex>:<cipher hex>"`.

use aes::Aes256;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The salt 1.7.2 falls back to when `SECRET_SALT` is unset.
pub const DEFAULT_SECRET_SALT: &str = "secretsalt";

/// Encrypts and decrypts secret values with a key derived from the salt.
#[derive(Clone)]
pub struct SecretCipher {
    key: [u8; 32],
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(..)")
    }
}

impl SecretCipher {
    pub fn new(salt: &str) -> Self {
        Self {
            key: Sha256::digest(salt.as_bytes()).into(),
        }
    }

    /// Encrypts `plain` unless it already has the encrypted shape (so repeated calls are idempotent).
    pub fn encrypt(&self, plain: &str) -> String {
        if looks_encrypted(plain) {
            return plain.to_owned();
        }
        let iv: [u8; 16] = rand::random();
        let cipher = cbc::Encryptor::<Aes256>::new(&self.key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
        format!("{}:{}", hex::encode(iv), hex::encode(cipher))
    }

    /// Decrypts `stored`; anything that is not a well-formed ciphertext for this key comes back unchanged.
    pub fn decrypt(&self, stored: &str) -> String {
        self.try_decrypt(stored)
            .unwrap_or_else(|| stored.to_owned())
    }

    fn try_decrypt(&self, stored: &str) -> Option<String> {
        let (iv_hex, cipher_hex) = stored.split_once(':')?;
        let iv: [u8; 16] = hex::decode(iv_hex).ok()?.try_into().ok()?;
        let cipher = hex::decode(cipher_hex).ok()?;
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&cipher)
            .ok()?;
        String::from_utf8(plain).ok()
    }

    /// Encrypts every string value of a secrets map in place; other values are left alone, as in 1.7.2.
    pub fn encrypt_map(&self, secrets: &mut Map<String, Value>) {
        for value in secrets.values_mut() {
            if let Value::String(text) = value {
                *text = self.encrypt(text);
            }
        }
    }
}

/// `<32 hex chars>:<hex>`: the shape 1.7.2 treats as already encrypted.
pub fn looks_encrypted(text: &str) -> bool {
    match text.split_once(':') {
        Some((iv, cipher)) => {
            iv.len() == 32
                && iv.bytes().all(|b| b.is_ascii_hexdigit())
                && !cipher.is_empty()
                && cipher.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decrypts_what_node_encrypted() {
        // Produced by node's crypto with the 1.7.2 algorithm and a fixed IV.
        let cipher = SecretCipher::new(DEFAULT_SECRET_SALT);
        let stored = "000102030405060708090a0b0c0d0e0f:93d90610c7071829aab5cf40178962b1bad8ef2d717f6eda462837c1d77e767a";
        assert_eq!(cipher.decrypt(stored), "sk-test-ünïcode");
        let peppered = SecretCipher::new("pepper");
        assert_eq!(
            peppered.decrypt("000102030405060708090a0b0c0d0e0f:579887ff4536a0a36a9b53ec33c34622"),
            "hello"
        );
    }

    #[test]
    fn round_trips_with_a_random_iv() {
        let cipher = SecretCipher::new("salt");
        let first = cipher.encrypt("value");
        let second = cipher.encrypt("value");
        assert_ne!(first, second, "a fresh IV each time");
        assert!(looks_encrypted(&first));
        assert_eq!(cipher.decrypt(&first), "value");
        assert_eq!(
            cipher.encrypt(&first),
            first,
            "already encrypted values are left alone"
        );
    }

    #[test]
    fn wrong_key_or_garbage_comes_back_unchanged() {
        let stored = SecretCipher::new("a").encrypt("value");
        let other = SecretCipher::new("b");
        assert_ne!(other.decrypt(&stored), "value");
        assert_eq!(other.decrypt("plain"), "plain");
        assert_eq!(other.decrypt("zz:zz"), "zz:zz");
    }

    #[test]
    fn encrypt_map_skips_non_strings() {
        let cipher = SecretCipher::new("s");
        let mut map = json!({"KEY": "v", "N": 3, "B": true})
            .as_object()
            .cloned()
            .unwrap();
        cipher.encrypt_map(&mut map);
        assert!(looks_encrypted(map["KEY"].as_str().unwrap()));
        assert_eq!(map["N"], json!(3));
        assert_eq!(map["B"], json!(true));
    }
}
