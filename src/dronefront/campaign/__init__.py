"""Campaigns: a calendar of engagements with logistics, casualty flow and learning."""

from dronefront.campaign.models import Campaign
from dronefront.campaign.runner import CampaignResult, load_campaign, run_campaign

__all__ = ["Campaign", "CampaignResult", "load_campaign", "run_campaign"]
