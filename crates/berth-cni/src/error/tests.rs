use super::*;

fn plugin_failure(code: u32) -> Error {
    Error::Plugin {
        op: Box::new(Operation {
            command: Command::Add,
            network: Some("front".into()),
            container: Some("c0ffee".into()),
            plugin: "bridge".into(),
        }),
        source: InvokeError::Plugin {
            path: "/usr/lib/cni/bridge".into(),
            error: PluginError {
                code,
                msg: "failed to allocate".into(),
                details: "no addresses left in 10.1.0.0/30".into(),
            },
        },
    }
}

#[test]
fn parses_the_spec_error_object() {
    let error: PluginError =
        serde_json::from_str(r#"{"cniVersion":"1.0.0","code":7,"msg":"bad","details":"why"}"#)
            .unwrap();
    assert_eq!(error.kind(), ErrorCode::InvalidNetworkConfig);
    assert_eq!(
        error.to_string(),
        "bad (code 7: invalid network config): why"
    );
    let bare: PluginError = serde_json::from_str(r#"{"code":3}"#).unwrap();
    assert_eq!(bare.kind(), ErrorCode::UnknownContainer);
    assert!(!bare.to_string().ends_with(": "));
}

#[test]
fn codes_map_to_their_classes() {
    let kind = |code| {
        PluginError {
            code,
            msg: String::new(),
            details: String::new(),
        }
        .kind()
    };
    assert_eq!(kind(11), ErrorCode::TryAgainLater);
    assert_eq!(kind(50), ErrorCode::NotAvailable);
    assert_eq!(kind(51), ErrorCode::LimitedConnectivity);
    assert_eq!(kind(42), ErrorCode::Reserved(42));
    assert_eq!(kind(100), ErrorCode::PluginSpecific(100));
}

#[test]
fn message_names_operation_network_container_and_plugin() {
    let message = plugin_failure(5).to_string();
    assert_eq!(
        message,
        "CNI ADD of container c0ffee on network front, plugin bridge: /usr/lib/cni/bridge: \
         failed to allocate (code 5: I/O failure): no addresses left in 10.1.0.0/30"
    );
}

#[test]
fn errors_map_to_api_kinds() {
    assert_eq!(plugin_failure(7).kind(), ErrorKind::InvalidArgument);
    assert_eq!(plugin_failure(3).kind(), ErrorKind::NotFound);
    assert_eq!(plugin_failure(11).kind(), ErrorKind::Unavailable);
    assert_eq!(plugin_failure(5).kind(), ErrorKind::Internal);
    assert_eq!(plugin_failure(7).plugin_error().map(|e| e.code), Some(7));

    let rollback = Error::RollbackFailed {
        add: Box::new(plugin_failure(11)),
        del: Box::new(plugin_failure(5)),
    };
    assert_eq!(rollback.kind(), ErrorKind::Unavailable);
    assert_eq!(rollback.plugin_error().map(|e| e.code), Some(11));
}
