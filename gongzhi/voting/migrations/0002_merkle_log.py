"""The ballot log becomes a Merkle tree with signed heads (receipts.py). Entries written as a hash chain keep their
MACs and receipt codes; they become the tree's first leaves, and each vote with entries gets its first signed head."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def leaves_for_chains(apps, schema_editor):
    from gongzhi.voting import merkle, receipts

    Vote = apps.get_model("voting", "Vote")
    Entry = apps.get_model("voting", "BallotLogEntry")
    Head = apps.get_model("voting", "BallotTreeHead")
    for vote in Vote.objects.filter(log_length__gt=0).order_by("pk"):
        frontier: list[str] = []
        size = 0
        for e in Entry.objects.filter(vote=vote).order_by("seq").iterator():
            leaf = merkle.leaf_hash(receipts.leaf_bytes(vote.pk, e.roll_token, e.commitment, e.recorded_at, e.mac))
            Entry.objects.filter(pk=e.pk).update(leaf_hash=leaf)
            frontier = merkle.append(frontier, size, leaf)
            size += 1
        root = merkle.frontier_root(frontier)
        at = timezone.now()
        Head.objects.create(
            vote=vote, tree_size=size, root_hash=root, sealed_at=at, signature=receipts.sign_head(vote.pk, size, root, at)
        )
        Vote.objects.filter(pk=vote.pk).update(log_length=size, log_head=root, log_frontier=frontier)


class Migration(migrations.Migration):

    dependencies = [
        ('voting', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='BallotTreeHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tree_size', models.PositiveIntegerField()),
                ('root_hash', models.CharField(max_length=64)),
                ('sealed_at', models.DateTimeField()),
                ('signature', models.CharField(max_length=128)),
            ],
            options={
                'ordering': ['vote', 'tree_size'],
            },
        ),
        migrations.AddField(
            model_name='ballotlogentry',
            name='leaf_hash',
            field=models.CharField(default='', max_length=64),
        ),
        migrations.AddField(
            model_name='vote',
            name='log_frontier',
            field=models.JSONField(default=list),
        ),
        migrations.AlterField(
            model_name='ballotlogentry',
            name='prev_mac',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='ballotlogentry',
            name='seq',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='ballotlogentry',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['vote', 'id'], name='ballot_log_pending_idx'),
        ),
        migrations.AddField(
            model_name='ballottreehead',
            name='vote',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tree_heads', to='voting.vote'),
        ),
        migrations.AddConstraint(
            model_name='ballottreehead',
            constraint=models.UniqueConstraint(fields=('vote', 'tree_size'), name='tree_head_size_unique'),
        ),
        migrations.RunPython(leaves_for_chains, migrations.RunPython.noop),
    ]
