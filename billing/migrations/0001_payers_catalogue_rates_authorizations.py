"""Payers, the service catalogue, payer rate tables, authorizations and utilization reviews."""


import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('patients', '0005_disclosure_without_consent'),
        ('users', '0003_convert_plain_api_tokens'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Payer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=150)),
                ('kind', models.CharField(choices=[('medicaid', 'Medicaid'), ('medicaid_managed', 'Medicaid managed care'), ('medicare', 'Medicare'), ('medicare_advantage', 'Medicare Advantage'), ('commercial', 'Commercial'), ('state', 'State or grant funding'), ('self_pay', 'Self-pay'), ('other', 'Other')], max_length=20)),
                ('is_active', models.BooleanField(default=True, help_text='Inactive payers take no new authorizations.', verbose_name='Active')),
            ],
            options={
                'ordering': ['name'],
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.Lower('name'), name='billing_payer_name_unique_ci')],
            },
        ),
        migrations.CreateModel(
            name='ServiceCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('code', models.CharField(help_text='Five characters, e.g. H0015, S9480, 90853.', max_length=5, verbose_name='HCPCS/CPT code')),
                ('modifier', models.CharField(blank=True, help_text='Two characters, e.g. HQ; empty for none.', max_length=2)),
                ('claim_type', models.CharField(choices=[('professional', 'Professional (CMS-1500)'), ('institutional', 'Institutional (UB-04)')], max_length=15)),
                ('revenue_code', models.CharField(blank=True, help_text='UB-04 revenue code for institutional claims: 0906 IOP chemical dependency, 0905 IOP psychiatric.', max_length=4)),
                ('condition_code', models.CharField(blank=True, help_text='Institutional claims only, e.g. 92 for Medicare IOP; empty for none.', max_length=2)),
                ('unit_type', models.CharField(choices=[('per_diem', 'Per diem (one unit a day)'), ('per_service', 'Per service'), ('time', 'Time (a unit of minutes)')], max_length=15)),
                ('unit_minutes', models.PositiveSmallIntegerField(blank=True, help_text='Time-based codes only, e.g. 15.', null=True, verbose_name='Minutes per unit')),
                ('minimum_minutes', models.PositiveSmallIntegerField(blank=True, help_text='Attended minutes a day (per diem) or a service needs to be billed, e.g. 180.', null=True, verbose_name='Minimum minutes')),
                ('description', models.CharField(max_length=200)),
                ('is_active', models.BooleanField(default=True, verbose_name='Active')),
            ],
            options={
                'ordering': ['code', 'modifier', 'claim_type'],
                'constraints': [models.UniqueConstraint(fields=('code', 'modifier', 'claim_type'), name='billing_servicecode_unique'), models.CheckConstraint(condition=models.Q(models.Q(('claim_type', 'institutional'), _negated=True), models.Q(('revenue_code', ''), _negated=True), _connector='OR'), name='billing_servicecode_institutional_has_revenue_code'), models.CheckConstraint(condition=models.Q(models.Q(('unit_type', 'time'), _negated=True), ('unit_minutes__gt', 0), _connector='OR'), name='billing_servicecode_time_has_unit_minutes')],
            },
        ),
        migrations.CreateModel(
            name='Authorization',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('authorized_level', models.CharField(choices=[('0.5', '0.5 Early intervention'), ('1', '1 Outpatient'), ('1.0', '1.0 Long-term remission monitoring'), ('1.5', '1.5 Outpatient therapy'), ('1.7', '1.7 Medically managed outpatient'), ('2.1', '2.1 Intensive outpatient (IOP)'), ('2.5', '2.5 High-intensity outpatient'), ('2.7', '2.7 Medically managed intensive outpatient'), ('3.1', '3.1 Clinically managed low-intensity residential'), ('3.3', '3.3 Clinically managed population-specific high-intensity residential'), ('3.5', '3.5 Clinically managed high-intensity residential'), ('3.7', '3.7 Medically managed residential'), ('4', '4 Medically managed intensive inpatient'), ('4.0', '4.0 Medically managed inpatient')], help_text='The level the payer authorized; it may differ from the clinical level of care.', max_length=5, verbose_name='Authorized (UR/billing) level of care')),
                ('start_date', models.DateField(verbose_name='First authorized day')),
                ('end_date', models.DateField(verbose_name='Last authorized day')),
                ('units_authorized', models.PositiveIntegerField(verbose_name='Units authorized')),
                ('reference_number', models.CharField(max_length=60, verbose_name='Authorization reference')),
                ('care_manager_name', models.CharField(blank=True, max_length=150, verbose_name='Care manager')),
                ('care_manager_phone', models.CharField(blank=True, max_length=40, verbose_name='Care manager phone')),
                ('care_manager_email', models.EmailField(blank=True, max_length=254, verbose_name='Care manager email')),
                ('notes', models.TextField(blank=True)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('episode', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='authorizations', to='patients.episode')),
                ('site', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='authorizations', to='users.site')),
                ('payer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='authorizations', to='billing.payer')),
                ('service_code', models.ForeignKey(blank=True, help_text="The per-diem code the payer authorized; empty: the payer's per-diem code from its rate table.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='authorizations', to='billing.servicecode')),
            ],
            options={
                'ordering': ['episode_id', '-start_date', '-id'],
            },
        ),
        migrations.CreateModel(
            name='UtilizationReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('review_date', models.DateField()),
                ('kind', models.CharField(choices=[('initial', 'Initial review'), ('concurrent', 'Concurrent (continued-stay) review'), ('discharge', 'Discharge review')], max_length=15)),
                ('outcome', models.CharField(choices=[('approved', 'Approved'), ('partially_approved', 'Partially approved'), ('pending', 'Pending: more information requested'), ('peer_to_peer', 'Referred to peer-to-peer review'), ('denied', 'Denied')], max_length=20)),
                ('next_review_date', models.DateField(blank=True, null=True, verbose_name='Next review due')),
                ('reviewer', models.CharField(help_text="The payer's reviewer (name and credentials) who decided.", max_length=150, verbose_name='Reviewer')),
                ('notes', models.TextField(blank=True)),
                ('authorization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='billing.authorization')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['authorization_id', '-review_date', '-id'],
            },
        ),
        migrations.CreateModel(
            name='PayerRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('rate', models.DecimalField(decimal_places=2, max_digits=10, verbose_name='Rate per unit (USD)')),
                ('effective_from', models.DateField()),
                ('effective_to', models.DateField(blank=True, help_text='Last day the rate applies; empty while current.', null=True)),
                ('payer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='rates', to='billing.payer')),
                ('service_code', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='rates', to='billing.servicecode')),
            ],
            options={
                'ordering': ['payer__name', 'service_code__code', '-effective_from'],
                'constraints': [models.CheckConstraint(condition=models.Q(('rate__gte', 0)), name='billing_payerrate_rate_not_negative'), models.CheckConstraint(condition=models.Q(('effective_to__isnull', True), ('effective_to__gte', models.F('effective_from')), _connector='OR'), name='billing_payerrate_ends_after_start')],
            },
        ),
        migrations.AddIndex(
            model_name='authorization',
            index=models.Index(fields=['episode', 'start_date'], name='billing_auth_episode_start_idx'),
        ),
        migrations.AddConstraint(
            model_name='authorization',
            constraint=models.CheckConstraint(condition=models.Q(('end_date__gte', models.F('start_date'))), name='billing_authorization_ends_after_start'),
        ),
        migrations.AddConstraint(
            model_name='authorization',
            constraint=models.CheckConstraint(condition=models.Q(('reference_number', ''), _negated=True), name='billing_authorization_has_reference'),
        ),
        migrations.AddConstraint(
            model_name='authorization',
            constraint=models.UniqueConstraint(fields=('payer', 'reference_number'), name='billing_authorization_reference'),
        ),
        migrations.AddConstraint(
            model_name='utilizationreview',
            constraint=models.CheckConstraint(condition=models.Q(('next_review_date__isnull', True), ('next_review_date__gte', models.F('review_date')), _connector='OR'), name='billing_review_next_not_before_review'),
        ),
        migrations.AddConstraint(
            model_name='utilizationreview',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'discharge'), _negated=True), ('next_review_date__isnull', True), _connector='OR'), name='billing_review_discharge_has_no_next'),
        ),
    ]
