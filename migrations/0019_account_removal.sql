-- Account removal (DELETE /users/me): the account is hidden at once (deleted_at) and
-- signing in within 30 days restores it; after that the maintenance purge removes the
-- reader's data and files, and only theirs. A book of theirs that other readers have
-- data on outlives them, hidden, without an owner, until that data is gone too.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
CREATE INDEX index_users_on_deleted_at ON users (deleted_at) WHERE deleted_at IS NOT NULL;
ALTER TABLE books
    ALTER COLUMN user_id DROP NOT NULL,
    DROP CONSTRAINT books_user_id_fkey,
    ADD CONSTRAINT books_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL;
