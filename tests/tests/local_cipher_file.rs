//! The local master key file: created once with mode 0600, reused, refused when others can read it.

use std::os::unix::fs::PermissionsExt;

use byok_shared::cipher::local::LocalCipher;
use byok_shared::cipher::{Cipher, EncryptionContext};
use byok_shared::secret::Secret;

#[tokio::test]
async fn master_key_is_private_and_stable_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = LocalCipher::open_or_create(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
    let c = EncryptionContext::new("org_a", "xai", "pk_1");
    let sealed = first.encrypt(&Secret::new("xai-secret"), &c).await.unwrap();
    drop(first);
    let reopened = LocalCipher::open_or_create(&path).unwrap();
    assert_eq!(
        reopened.decrypt(&sealed, &c).await.unwrap().expose(),
        "xai-secret"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = LocalCipher::open_or_create(&path)
        .err()
        .expect("world-readable key refused");
    assert!(err.to_string().contains("readable by others"), "{err}");
}
