//! The `dingdan` binary as a new user meets it: with nothing configured,
//! `serve` starts on a SQLite file and `token` prints a token it accepts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `dingdan` binary of this build; cargo builds it for this test target.
fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dingdan"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn with_nothing_configured_serve_starts_and_token_is_accepted() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = binary();
    // DINGDAN_BIND only to get a free port; everything else is default.
    let server = Server(
        Command::new(&bin)
            .current_dir(dir.path())
            .env_clear()
            .env("DINGDAN_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        dir.path().join("dingdan.db").exists(),
        "the SQLite file is created in the working directory"
    );
    let secret = dir.path().join("dingdan.db.jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let output = Command::new(&bin)
        .current_dir(dir.path())
        .env_clear()
        .args(["token", "--role", "admin", "--ttl", "10m"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let response = client
        .get(format!("{base}/api/v1/products"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(server);
}

#[test]
fn invalid_configuration_fails_at_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("DINGDAN_BIND", "not-an-address")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DINGDAN_BIND"), "{stderr}");

    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", "postgres://127.0.0.1:1/none")
        .args(["token", "--role", "admin"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DINGDAN_JWT_SECRET"));

    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("DINGDAN_LOG", "dingdan=loud")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DINGDAN_LOG"));

    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", "sqlite:///no/such/directory/x.db")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
    assert!(
        !std::path::Path::new("/no/such/directory").exists(),
        "nothing is created"
    );

    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .args(["token", "--role", "superuser"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown role"));
}

#[test]
fn migrate_applies_the_schema_and_openapi_prints_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("applied"));
    let again = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .arg("migrate")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration"));

    let openapi = Command::new(binary()).arg("openapi").output().unwrap();
    let spec: serde_json::Value = serde_json::from_slice(&openapi.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "Dingdan");
    let sdl = Command::new(binary())
        .args(["openapi", "--graphql"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sdl.stdout).contains("type Product"));
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("DINGDAN_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("stopped"), "{log}");
}

#[tokio::test]
async fn a_separate_worker_process_runs_the_jobs_and_stops_on_sigterm() {
    // The test server runs no job workers; a `dingdan worker` process on the
    // same database does the allocating.
    let app = dingdan_tests::spawn_app().await;
    let warehouse = app.create_warehouse("WH-1", serde_json::json!({})).await;
    app.create_product("X", serde_json::json!({})).await;
    app.receive(
        warehouse["id"].as_str().unwrap(),
        "X",
        5,
        serde_json::json!({}),
    )
    .await
    .expect(201);
    let customer = app.create_customer("C-1", serde_json::json!({})).await;
    let order = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &serde_json::json!({"channel": "erp", "customer_id": customer["id"],
                                "lines": [{"sku": "X", "quantity": 2}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(order["status"], "approved");
    let mut worker = Server(
        Command::new(binary())
            .env_clear()
            .env("DATABASE_URL", &app.database.url)
            .env("DINGDAN_JWT_SECRET", dingdan_tests::TEST_SECRET)
            .args(["worker", "--count", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let path = format!("/api/v1/orders/{}", order["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get(&path, &app.admin()).await.expect(200).body["status"] != "allocated" {
        assert!(Instant::now() < deadline, "the worker did not allocate");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &worker.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = worker.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the worker did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}
