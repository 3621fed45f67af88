"""Search: what a search is, budgets and their plan, candidate plans, trial records, the frontier and selection."""

from .budget import BudgetPlan, SearchBudget, parse_budget
from .config import SearchConfig, merge_search_options
from .frontier import OBJECTIVES, check_objective, pareto_front, select_trial
from .plan import Candidate, plan_candidates
from .trial import TrialResult

__all__ = ["SearchConfig", "merge_search_options", "BudgetPlan", "SearchBudget", "parse_budget", "OBJECTIVES",
           "check_objective", "pareto_front", "select_trial", "Candidate", "plan_candidates", "TrialResult"]
