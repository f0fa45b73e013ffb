//! Unit tests of password hashing, checking and the worker queues.

use super::*;

fn settings(memory_kib: u32) -> PasswordSettings {
    PasswordSettings {
        memory_kib,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 1,
        max_queued: 4,
        min_length: 10,
        min_strength: 3,
    }
}

#[test]
fn hashes_match_the_argon2_crates_own_phc_strings() {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
    let passwords = Passwords::new(&settings(1024)).unwrap();
    let pw = SecretString::from("correct horse");
    let reference = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(1024, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let theirs = reference
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
    assert!(passwords.verify_blocking(Some(&theirs), &pw).valid);
    let ours = passwords.hash_blocking(&pw).unwrap();
    let parsed = PasswordHash::new(&ours).unwrap();
    assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
    assert!(reference.verify_password(b"wrong", &parsed).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once() {
    let mut one = settings(1024);
    one.max_queued = 1;
    let passwords = Passwords::new(&one).unwrap();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let running = passwords.clone();
    let holder = tokio::spawn(async move { running.run(move |_| held.recv()).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let queued = passwords.clone();
    let waiting = tokio::spawn(async move { queued.run(|_| 7).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(matches!(
        passwords.run(|_| 8).await,
        Err(PasswordError::Busy)
    ));
    release.send(()).unwrap();
    holder.await.unwrap().unwrap().unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), 7);
    assert_eq!(passwords.run(|_| 9).await.unwrap(), 9);
}

#[test]
fn verifies_and_flags_old_parameters() {
    let old = Passwords::new(&settings(1024)).unwrap();
    let new = Passwords::new(&settings(2048)).unwrap();
    let pw = SecretString::from("correct horse");
    let hash = old.hash_blocking(&pw).unwrap();
    assert!(hash.starts_with("$argon2id$"));
    let ok = old.verify_blocking(Some(&hash), &pw);
    assert_eq!(
        ok,
        Verified {
            valid: true,
            needs_rehash: false
        }
    );
    let upgraded = new.verify_blocking(Some(&hash), &pw);
    assert_eq!(
        upgraded,
        Verified {
            valid: true,
            needs_rehash: true
        }
    );
    assert!(
        !old.verify_blocking(Some(&hash), &SecretString::from("wrong"))
            .valid
    );
}

#[test]
fn policy_refuses_short_common_and_predictable_passwords() {
    const COMMON: &str = "this password is too easy to guess. This is a very common password. \
                          Choose a longer, less predictable one.";
    let passwords = Passwords::new(&settings(1024)).unwrap();
    let check = |p: &str| passwords.check_policy(&SecretString::from(p.to_owned()));
    assert_eq!(
        check("short"),
        Err("a password needs at least 10 characters".into())
    );
    assert_eq!(check("Password123"), Err(COMMON.into()));
    for weak in [
        "qwertyuiop123",
        "1234567890",
        "iloveyou2026",
        "aaaaaaaaaaaa",
    ] {
        assert!(check(weak).is_err(), "{weak}");
    }
    assert!(check("a long and unusual phrase").is_ok());
    assert!(check(&"correct horse battery staple ".repeat(100)).is_ok());
}

#[test]
fn unknown_user_never_verifies_even_with_the_dummy_password() {
    let passwords = Passwords::new(&settings(1024)).unwrap();
    let dummy = SecretString::from("latchkey-dummy");
    assert!(!passwords.verify_blocking(None, &dummy).valid);
    assert!(
        !passwords
            .verify_blocking(Some("not a phc string"), &dummy)
            .valid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_priority_lane_has_room_of_its_own_and_goes_first() {
    let mut one = settings(1024);
    one.max_queued = 1;
    let passwords = Passwords::new(&one).unwrap();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let running = passwords.clone();
    let holder = tokio::spawn(async move { running.run(move |_| held.recv()).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (queued, seen) = (passwords.clone(), Arc::clone(&order));
    let ordinary =
        tokio::spawn(async move { queued.run(move |_| seen.lock().unwrap().push(1)).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // The ordinary lane is full: refused at once.
    assert!(matches!(
        passwords.run(|_| ()).await,
        Err(PasswordError::Busy)
    ));
    // The priority lane still takes one, and runs it before the ordinary job.
    let (first, seen) = (passwords.in_lane(Lane::Priority), Arc::clone(&order));
    let priority =
        tokio::spawn(async move { first.run(move |_| seen.lock().unwrap().push(2)).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(matches!(
        passwords.in_lane(Lane::Priority).run(|_| ()).await,
        Err(PasswordError::Busy)
    ));
    release.send(()).unwrap();
    holder.await.unwrap().unwrap().unwrap();
    priority.await.unwrap().unwrap();
    ordinary.await.unwrap().unwrap();
    assert_eq!(*order.lock().unwrap(), vec![2, 1]);
}
