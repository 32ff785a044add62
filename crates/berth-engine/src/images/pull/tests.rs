use super::*;

#[test]
fn login_server_addresses_name_registries() {
    assert_eq!(registry_name("https://index.docker.io/v1/"), "docker.io");
    assert_eq!(registry_name(""), "docker.io");
    assert_eq!(registry_name("http://127.0.0.1:5000"), "127.0.0.1:5000");
    assert_eq!(registry_name("127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    assert_eq!(registry_name("reg.example"), "reg.example");
}
