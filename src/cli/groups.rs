//! `latchkey group …`: groups of users and the scopes restricted to their members.

use clap::Subcommand;

use super::{done, open, output};
use crate::admin;
use crate::admin::groups::GroupView;
use crate::config::Settings;
use crate::random::OsRandom;

#[derive(Subcommand)]
pub(super) enum GroupCommand {
    /// Create a group (its name is what the `groups` claim carries).
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group and its memberships.
    Remove { name: String },
    /// List groups with their members and restricted scopes.
    List,
    /// Show one group.
    Show { name: String },
    /// Restrict a scope to members of this group (and of any other group allowed it): people
    /// outside them are not granted it, and the consent page does not show it.
    AllowScope { group: String, scope: String },
    /// Take a scope from this group; once no group is allowed it, it is no longer restricted.
    DisallowScope { group: String, scope: String },
}

fn print(g: &GroupView) {
    println!("group:       {}", g.name);
    println!("description: {}", g.description.as_deref().unwrap_or("-"));
    println!("members:     {}", g.members.join(" "));
    println!("scopes:      {}", g.scopes.join(" "));
}

pub(super) fn group(command: GroupCommand, settings: &Settings, json: bool) -> anyhow::Result<()> {
    let pool = open(settings)?;
    let conn = &mut *pool.get()?;
    let by = &super::by(settings);
    match command {
        GroupCommand::Add { name, description } => {
            let g = admin::groups::add(conn, &OsRandom, by, &name, description.as_deref())?;
            output(json, &g, || println!("created group {}", g.name))
        }
        GroupCommand::Remove { name } => {
            admin::groups::remove(conn, by, &name)?;
            done(json, &format!("group {name} removed"))
        }
        GroupCommand::List => {
            let groups = admin::groups::list(conn)?;
            output(json, &groups, || {
                for g in &groups {
                    println!(
                        "{:<24} {} member(s)  scopes: {}",
                        g.name,
                        g.members.len(),
                        if g.scopes.is_empty() {
                            "-".into()
                        } else {
                            g.scopes.join(" ")
                        }
                    );
                }
            })
        }
        GroupCommand::Show { name } => {
            let g = admin::groups::show(conn, &name)?;
            output(json, &g, || print(&g))
        }
        GroupCommand::AllowScope { group, scope } => {
            let g = admin::groups::allow_scope(conn, by, &group, &scope)?;
            output(json, &g, || print(&g))
        }
        GroupCommand::DisallowScope { group, scope } => {
            let g = admin::groups::disallow_scope(conn, by, &group, &scope)?;
            output(json, &g, || print(&g))
        }
    }
}
