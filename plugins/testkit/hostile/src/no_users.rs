// The IAM and fetch side of the hostile test plugins, which have no users: included by
// each of them (`include!`), whose plugin type is `Plugin` and whose `COMMANDS` lists its
// commands.

fn no_users<T>() -> Result<T, AppError> {
    Err(app_error(
        "400",
        concat!(env!("CARGO_PKG_NAME"), " has no users"),
    ))
}

impl iam::Guest for Plugin {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        vec!["id".into()]
    }

    fn find_user(_by: Lookup) -> Result<Option<AppUser>, AppError> {
        no_users()
    }

    fn create_user(_profile: String) -> Result<AppUser, AppError> {
        no_users()
    }

    fn update_user(_id: String, _profile: String) -> Result<AppUser, AppError> {
        no_users()
    }

    fn enable_user(_id: String) -> Result<AppUser, AppError> {
        no_users()
    }

    fn disable_user(_id: String) -> Result<AppUser, AppError> {
        no_users()
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        no_users()
    }

    fn test_connection() -> Result<(), AppError> {
        no_users()
    }
}

impl fetch::Guest for Plugin {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        no_users()
    }
}
