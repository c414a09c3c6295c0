-- A user's role grants in the order they were given, read without a sort (store/people.rs:
-- listing the users).
CREATE INDEX user_roles_order ON user_roles(user_id, position);
