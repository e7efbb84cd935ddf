"""who may go on with a pending enrollment and with a configuration token

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('twofa_pending', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=64), nullable=True))
    with op.batch_alter_table('twofa_login_attempt', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('enrolled', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Pending enrollments made before owners were recorded cannot be attributed: start over.
    op.execute(sa.text('DELETE FROM twofa_pending'))


def downgrade() -> None:
    with op.batch_alter_table('twofa_login_attempt', schema=None) as batch_op:
        batch_op.drop_column('enrolled')
    with op.batch_alter_table('twofa_pending', schema=None) as batch_op:
        batch_op.drop_column('owner')
