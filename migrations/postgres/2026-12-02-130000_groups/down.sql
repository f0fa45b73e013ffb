DROP TABLE group_scopes;
DROP TABLE group_members;
DROP TABLE groups;
