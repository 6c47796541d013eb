//! EWS response results: [`ResponseClass`], [`ResponseCode`] (every code of the schema's
//! `m:ResponseCodeType`, unknown ones kept as text), the common part of every response message
//! ([`ResponseStatus`]: `MessageText`, `ResponseCode`, `DescriptiveLinkKey`, `MessageXml`), and
//! the per-item wrapper [`ResponseMessage`] / list [`ResponseMessages`].
//!
//! Every operation answers one response message per requested item, in request order; a batch
//! can partly fail, so results are reported per item rather than as one error.

use std::borrow::Cow;
use std::time::Duration;

use super::ids::string_enum;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlValue, XmlWriter};

string_enum! {
    /// The outcome class of one response message (`t:ResponseClassType`).
    ResponseClass {
        /// The item was processed.
        Success = "Success",
        /// The item was processed, with a warning (e.g. a partial result).
        Warning = "Warning",
        /// The item failed; see the [`ResponseCode`].
        Error = "Error",
    }
}

macro_rules! response_codes {
    ($($code:ident,)*) => {
        /// A response code (`m:ResponseCodeType`): every value of the schema, plus
        /// [`ResponseCode::Other`] for codes a newer server may send.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ResponseCode {
            $(
                #[doc = concat!("`", stringify!($code), "`.")]
                $code,
            )*
            /// A code this crate does not know, kept as sent.
            Other(String),
        }

        impl ResponseCode {
            /// Every code of the schema, in schema order (without [`ResponseCode::Other`]).
            pub const ALL: &'static [ResponseCode] = &[$(ResponseCode::$code),*];

            /// The schema spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ResponseCode::$code => stringify!($code),)*
                    ResponseCode::Other(text) => text,
                }
            }

            /// Parses a code; unknown text becomes [`ResponseCode::Other`].
            pub fn parse(text: &str) -> ResponseCode {
                match text.trim() {
                    $(stringify!($code) => ResponseCode::$code,)*
                    other => ResponseCode::Other(other.to_owned()),
                }
            }
        }
    };
}

response_codes! {
    NoError,
    ErrorAccessDenied,
    ErrorAccessModeSpecified,
    ErrorAccountDisabled,
    ErrorAddDelegatesFailed,
    ErrorAddressSpaceNotFound,
    ErrorADOperation,
    ErrorADSessionFilter,
    ErrorADUnavailable,
    ErrorServiceUnavailable,
    ErrorAutoDiscoverFailed,
    ErrorAffectedTaskOccurrencesRequired,
    ErrorAttachmentNestLevelLimitExceeded,
    ErrorAttachmentSizeLimitExceeded,
    ErrorArchiveFolderPathCreation,
    ErrorArchiveMailboxNotEnabled,
    ErrorArchiveMailboxServiceDiscoveryFailed,
    ErrorAvailabilityConfigNotFound,
    ErrorBatchProcessingStopped,
    ErrorCalendarCannotMoveOrCopyOccurrence,
    ErrorCalendarCannotUpdateDeletedItem,
    ErrorCalendarCannotUseIdForOccurrenceId,
    ErrorCalendarCannotUseIdForRecurringMasterId,
    ErrorCalendarDurationIsTooLong,
    ErrorCalendarEndDateIsEarlierThanStartDate,
    ErrorCalendarFolderIsInvalidForCalendarView,
    ErrorCalendarInvalidAttributeValue,
    ErrorCalendarInvalidDayForTimeChangePattern,
    ErrorCalendarInvalidDayForWeeklyRecurrence,
    ErrorCalendarInvalidPropertyState,
    ErrorCalendarInvalidPropertyValue,
    ErrorCalendarInvalidRecurrence,
    ErrorCalendarInvalidTimeZone,
    ErrorCalendarIsCancelledForAccept,
    ErrorCalendarIsCancelledForDecline,
    ErrorCalendarIsCancelledForRemove,
    ErrorCalendarIsCancelledForTentative,
    ErrorCalendarIsDelegatedForAccept,
    ErrorCalendarIsDelegatedForDecline,
    ErrorCalendarIsDelegatedForRemove,
    ErrorCalendarIsDelegatedForTentative,
    ErrorCalendarIsNotOrganizer,
    ErrorCalendarIsOrganizerForAccept,
    ErrorCalendarIsOrganizerForDecline,
    ErrorCalendarIsOrganizerForRemove,
    ErrorCalendarIsOrganizerForTentative,
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorCalendarOutOfRange,
    ErrorCalendarMeetingRequestIsOutOfDate,
    ErrorCalendarViewRangeTooBig,
    ErrorCallerIsInvalidADAccount,
    ErrorCannotAccessDeletedPublicFolder,
    ErrorCannotArchiveCalendarContactTaskFolderException,
    ErrorCannotArchiveItemsInPublicFolders,
    ErrorCannotArchiveItemsInArchiveMailbox,
    ErrorCannotCreateCalendarItemInNonCalendarFolder,
    ErrorCannotCreateContactInNonContactFolder,
    ErrorCannotCreatePostItemInNonMailFolder,
    ErrorCannotCreateTaskInNonTaskFolder,
    ErrorCannotDeleteObject,
    ErrorCannotDisableMandatoryExtension,
    ErrorCannotFindUser,
    ErrorCannotGetSourceFolderPath,
    ErrorCannotGetExternalEcpUrl,
    ErrorCannotOpenFileAttachment,
    ErrorCannotDeleteTaskOccurrence,
    ErrorCannotEmptyFolder,
    ErrorCannotSetCalendarPermissionOnNonCalendarFolder,
    ErrorCannotSetNonCalendarPermissionOnCalendarFolder,
    ErrorCannotSetPermissionUnknownEntries,
    ErrorCannotSpecifySearchFolderAsSourceFolder,
    ErrorCannotUseFolderIdForItemId,
    ErrorCannotUseItemIdForFolderId,
    ErrorChangeKeyRequired,
    ErrorChangeKeyRequiredForWriteOperations,
    ErrorClientDisconnected,
    ErrorClientIntentInvalidStateDefinition,
    ErrorClientIntentNotFound,
    ErrorConnectionFailed,
    ErrorContainsFilterWrongType,
    ErrorContentConversionFailed,
    ErrorContentIndexingNotEnabled,
    ErrorCorruptData,
    ErrorCreateItemAccessDenied,
    ErrorCreateManagedFolderPartialCompletion,
    ErrorCreateSubfolderAccessDenied,
    ErrorCrossMailboxMoveCopy,
    ErrorCrossSiteRequest,
    ErrorDataSizeLimitExceeded,
    ErrorDataSourceOperation,
    ErrorDelegateAlreadyExists,
    ErrorDelegateCannotAddOwner,
    ErrorDelegateMissingConfiguration,
    ErrorDelegateNoUser,
    ErrorDelegateValidationFailed,
    ErrorDeleteDistinguishedFolder,
    ErrorDeleteItemsFailed,
    ErrorDeleteUnifiedMessagingPromptFailed,
    ErrorDistinguishedUserNotSupported,
    ErrorDistributionListMemberNotExist,
    ErrorDuplicateInputFolderNames,
    ErrorDuplicateUserIdsSpecified,
    ErrorDuplicateTransactionId,
    ErrorEmailAddressMismatch,
    ErrorEventNotFound,
    ErrorExceededConnectionCount,
    ErrorExceededSubscriptionCount,
    ErrorExceededFindCountLimit,
    ErrorExpiredSubscription,
    ErrorExtensionNotFound,
    ErrorExtensionsNotAuthorized,
    ErrorFolderCorrupt,
    ErrorFolderNotFound,
    ErrorFolderPropertRequestFailed,
    ErrorFolderSave,
    ErrorFolderSaveFailed,
    ErrorFolderSavePropertyError,
    ErrorFolderExists,
    ErrorFreeBusyGenerationFailed,
    ErrorGetServerSecurityDescriptorFailed,
    ErrorImContactLimitReached,
    ErrorImGroupDisplayNameAlreadyExists,
    ErrorImGroupLimitReached,
    ErrorImpersonateUserDenied,
    ErrorImpersonationDenied,
    ErrorImpersonationFailed,
    ErrorIncorrectSchemaVersion,
    ErrorIncorrectUpdatePropertyCount,
    ErrorIndividualMailboxLimitReached,
    ErrorInsufficientResources,
    ErrorInternalServerError,
    ErrorInternalServerTransientError,
    ErrorInvalidAccessLevel,
    ErrorInvalidArgument,
    ErrorInvalidAttachmentId,
    ErrorInvalidAttachmentSubfilter,
    ErrorInvalidAttachmentSubfilterTextFilter,
    ErrorInvalidAuthorizationContext,
    ErrorInvalidChangeKey,
    ErrorInvalidClientSecurityContext,
    ErrorInvalidCompleteDate,
    ErrorInvalidContactEmailAddress,
    ErrorInvalidContactEmailIndex,
    ErrorInvalidCrossForestCredentials,
    ErrorInvalidDelegatePermission,
    ErrorInvalidDelegateUserId,
    ErrorInvalidExcludesRestriction,
    ErrorInvalidExpressionTypeForSubFilter,
    ErrorInvalidExtendedProperty,
    ErrorInvalidExtendedPropertyValue,
    ErrorInvalidFolderId,
    ErrorInvalidFolderTypeForOperation,
    ErrorInvalidFractionalPagingParameters,
    ErrorInvalidFreeBusyViewType,
    ErrorInvalidId,
    ErrorInvalidIdEmpty,
    ErrorInvalidIdMalformed,
    ErrorInvalidIdMalformedEwsLegacyIdFormat,
    ErrorInvalidIdMonikerTooLong,
    ErrorInvalidIdNotAnItemAttachmentId,
    ErrorInvalidIdReturnedByResolveNames,
    ErrorInvalidIdStoreObjectIdTooLong,
    ErrorInvalidIdTooManyAttachmentLevels,
    ErrorInvalidIdXml,
    ErrorInvalidImContactId,
    ErrorInvalidImDistributionGroupSmtpAddress,
    ErrorInvalidImGroupId,
    ErrorInvalidIndexedPagingParameters,
    ErrorInvalidInternetHeaderChildNodes,
    ErrorInvalidItemForOperationArchiveItem,
    ErrorInvalidItemForOperationCreateItemAttachment,
    ErrorInvalidItemForOperationCreateItem,
    ErrorInvalidItemForOperationAcceptItem,
    ErrorInvalidItemForOperationDeclineItem,
    ErrorInvalidItemForOperationCancelItem,
    ErrorInvalidItemForOperationExpandDL,
    ErrorInvalidItemForOperationRemoveItem,
    ErrorInvalidItemForOperationSendItem,
    ErrorInvalidItemForOperationTentative,
    ErrorInvalidLogonType,
    ErrorInvalidLikeRequest,
    ErrorInvalidMailbox,
    ErrorInvalidManagedFolderProperty,
    ErrorInvalidManagedFolderQuota,
    ErrorInvalidManagedFolderSize,
    ErrorInvalidMergedFreeBusyInterval,
    ErrorInvalidNameForNameResolution,
    ErrorInvalidOperation,
    ErrorInvalidNetworkServiceContext,
    ErrorInvalidOofParameter,
    ErrorInvalidPagingMaxRows,
    ErrorInvalidParentFolder,
    ErrorInvalidPercentCompleteValue,
    ErrorInvalidPermissionSettings,
    ErrorInvalidPhoneCallId,
    ErrorInvalidPhoneNumber,
    ErrorInvalidUserInfo,
    ErrorInvalidPropertyAppend,
    ErrorInvalidPropertyDelete,
    ErrorInvalidPropertyForExists,
    ErrorInvalidPropertyForOperation,
    ErrorInvalidPropertyRequest,
    ErrorInvalidPropertySet,
    ErrorInvalidPropertyUpdateSentMessage,
    ErrorInvalidProxySecurityContext,
    ErrorInvalidPullSubscriptionId,
    ErrorInvalidPushSubscriptionUrl,
    ErrorInvalidRecipients,
    ErrorInvalidRecipientSubfilter,
    ErrorInvalidRecipientSubfilterComparison,
    ErrorInvalidRecipientSubfilterOrder,
    ErrorInvalidRecipientSubfilterTextFilter,
    ErrorInvalidReferenceItem,
    ErrorInvalidRequest,
    ErrorInvalidRestriction,
    ErrorInvalidRetentionTagTypeMismatch,
    ErrorInvalidRetentionTagInvisible,
    ErrorInvalidRetentionTagInheritance,
    ErrorInvalidRetentionTagIdGuid,
    ErrorInvalidRoutingType,
    ErrorInvalidScheduledOofDuration,
    ErrorInvalidSchemaVersionForMailboxVersion,
    ErrorInvalidSecurityDescriptor,
    ErrorInvalidSendItemSaveSettings,
    ErrorInvalidSerializedAccessToken,
    ErrorInvalidServerVersion,
    ErrorInvalidSid,
    ErrorInvalidSIPUri,
    ErrorInvalidSmtpAddress,
    ErrorInvalidSubfilterType,
    ErrorInvalidSubfilterTypeNotAttendeeType,
    ErrorInvalidSubfilterTypeNotRecipientType,
    ErrorInvalidSubscription,
    ErrorInvalidSubscriptionRequest,
    ErrorInvalidSyncStateData,
    ErrorInvalidTimeInterval,
    ErrorInvalidUserOofSettings,
    ErrorInvalidUserPrincipalName,
    ErrorInvalidUserSid,
    ErrorInvalidUserSidMissingUPN,
    ErrorInvalidValueForProperty,
    ErrorInvalidWatermark,
    ErrorIPGatewayNotFound,
    ErrorIrresolvableConflict,
    ErrorItemCorrupt,
    ErrorItemNotFound,
    ErrorItemPropertyRequestFailed,
    ErrorItemSave,
    ErrorItemSavePropertyError,
    ErrorLegacyMailboxFreeBusyViewTypeNotMerged,
    ErrorLocalServerObjectNotFound,
    ErrorLogonAsNetworkServiceFailed,
    ErrorMailboxConfiguration,
    ErrorMailboxDataArrayEmpty,
    ErrorMailboxDataArrayTooBig,
    ErrorMailboxHoldNotFound,
    ErrorMailboxLogonFailed,
    ErrorMailboxMoveInProgress,
    ErrorMailboxStoreUnavailable,
    ErrorMailRecipientNotFound,
    ErrorMailTipsDisabled,
    ErrorManagedFolderAlreadyExists,
    ErrorManagedFolderNotFound,
    ErrorManagedFoldersRootFailure,
    ErrorMeetingSuggestionGenerationFailed,
    ErrorMessageDispositionRequired,
    ErrorMessageSizeExceeded,
    ErrorMimeContentConversionFailed,
    ErrorMimeContentInvalid,
    ErrorMimeContentInvalidBase64String,
    ErrorMissingArgument,
    ErrorMissingEmailAddress,
    ErrorMissingEmailAddressForManagedFolder,
    ErrorMissingInformationEmailAddress,
    ErrorMissingInformationReferenceItemId,
    ErrorMissingItemForCreateItemAttachment,
    ErrorMissingManagedFolderId,
    ErrorMissingRecipients,
    ErrorMissingUserIdInformation,
    ErrorMoreThanOneAccessModeSpecified,
    ErrorMoveCopyFailed,
    ErrorMoveDistinguishedFolder,
    ErrorMoveUnifiedGroupPropertyFailed,
    ErrorMultiLegacyMailboxAccess,
    ErrorNameResolutionMultipleResults,
    ErrorNameResolutionNoMailbox,
    ErrorNameResolutionNoResults,
    ErrorNoApplicableProxyCASServersAvailable,
    ErrorNoCalendar,
    ErrorNoDestinationCASDueToKerberosRequirements,
    ErrorNoDestinationCASDueToSSLRequirements,
    ErrorNoDestinationCASDueToVersionMismatch,
    ErrorNoFolderClassOverride,
    ErrorNoFreeBusyAccess,
    ErrorNonExistentMailbox,
    ErrorNonPrimarySmtpAddress,
    ErrorNoPropertyTagForCustomProperties,
    ErrorNoPublicFolderReplicaAvailable,
    ErrorNoPublicFolderServerAvailable,
    ErrorNoRespondingCASInDestinationSite,
    ErrorNotDelegate,
    ErrorNotEnoughMemory,
    ErrorObjectTypeChanged,
    ErrorOccurrenceCrossingBoundary,
    ErrorOccurrenceTimeSpanTooBig,
    ErrorOperationNotAllowedWithPublicFolderRoot,
    ErrorParentFolderIdRequired,
    ErrorParentFolderNotFound,
    ErrorPasswordChangeRequired,
    ErrorPasswordExpired,
    ErrorPhoneNumberNotDialable,
    ErrorPropertyUpdate,
    ErrorPromptPublishingOperationFailed,
    ErrorPropertyValidationFailure,
    ErrorProxiedSubscriptionCallFailure,
    ErrorProxyCallFailed,
    ErrorProxyGroupSidLimitExceeded,
    ErrorProxyRequestNotAllowed,
    ErrorProxyRequestProcessingFailed,
    ErrorProxyServiceDiscoveryFailed,
    ErrorProxyTokenExpired,
    ErrorPublicFolderMailboxDiscoveryFailed,
    ErrorPublicFolderOperationFailed,
    ErrorPublicFolderRequestProcessingFailed,
    ErrorPublicFolderServerNotFound,
    ErrorPublicFolderSyncException,
    ErrorQueryFilterTooLong,
    ErrorQuotaExceeded,
    ErrorReadEventsFailed,
    ErrorReadReceiptNotPending,
    ErrorRecurrenceEndDateTooBig,
    ErrorRecurrenceHasNoOccurrence,
    ErrorRemoveDelegatesFailed,
    ErrorRequestAborted,
    ErrorRequestStreamTooBig,
    ErrorRequiredPropertyMissing,
    ErrorResolveNamesInvalidFolderType,
    ErrorResolveNamesOnlyOneContactsFolderAllowed,
    ErrorResponseSchemaValidation,
    ErrorRestrictionTooLong,
    ErrorRestrictionTooComplex,
    ErrorResultSetTooBig,
    ErrorInvalidExchangeImpersonationHeaderData,
    ErrorSavedItemFolderNotFound,
    ErrorSchemaValidation,
    ErrorSearchFolderNotInitialized,
    ErrorSendAsDenied,
    ErrorSendMeetingCancellationsRequired,
    ErrorSendMeetingInvitationsOrCancellationsRequired,
    ErrorSendMeetingInvitationsRequired,
    ErrorSentMeetingRequestUpdate,
    ErrorSentTaskRequestUpdate,
    ErrorServerBusy,
    ErrorServiceDiscoveryFailed,
    ErrorStaleObject,
    ErrorSubmissionQuotaExceeded,
    ErrorSubscriptionAccessDenied,
    ErrorSubscriptionDelegateAccessNotSupported,
    ErrorSubscriptionNotFound,
    ErrorSubscriptionUnsubscribed,
    ErrorSyncFolderNotFound,
    ErrorTeamMailboxNotFound,
    ErrorTeamMailboxNotLinkedToSharePoint,
    ErrorTeamMailboxUrlValidationFailed,
    ErrorTeamMailboxNotAuthorizedOwner,
    ErrorTeamMailboxActiveToPendingDelete,
    ErrorTeamMailboxFailedSendingNotifications,
    ErrorTeamMailboxErrorUnknown,
    ErrorTimeIntervalTooBig,
    ErrorTimeoutExpired,
    ErrorTimeZone,
    ErrorToFolderNotFound,
    ErrorTokenSerializationDenied,
    ErrorTooManyObjectsOpened,
    ErrorUpdatePropertyMismatch,
    ErrorAccessingPartialCreatedUnifiedGroup,
    ErrorUnifiedGroupMailboxAADCreationFailed,
    ErrorUnifiedGroupMailboxAADDeleteFailed,
    ErrorUnifiedGroupMailboxNamingPolicy,
    ErrorUnifiedGroupMailboxDeleteFailed,
    ErrorUnifiedGroupMailboxNotFound,
    ErrorUnifiedGroupMailboxUpdateDelayed,
    ErrorUnifiedGroupMailboxUpdatedPartialProperties,
    ErrorUnifiedGroupMailboxUpdateFailed,
    ErrorUnifiedGroupMailboxProvisionFailed,
    ErrorUnifiedMessagingDialPlanNotFound,
    ErrorUnifiedMessagingReportDataNotFound,
    ErrorUnifiedMessagingPromptNotFound,
    ErrorUnifiedMessagingRequestFailed,
    ErrorUnifiedMessagingServerNotFound,
    ErrorUnableToGetUserOofSettings,
    ErrorUnableToRemoveImContactFromGroup,
    ErrorUnsupportedSubFilter,
    ErrorUnsupportedCulture,
    ErrorUnsupportedMapiPropertyType,
    ErrorUnsupportedMimeConversion,
    ErrorUnsupportedPathForQuery,
    ErrorUnsupportedPathForSortGroup,
    ErrorUnsupportedPropertyDefinition,
    ErrorUnsupportedQueryFilter,
    ErrorUnsupportedRecurrence,
    ErrorUnsupportedTypeForConversion,
    ErrorUpdateDelegatesFailed,
    ErrorUserNotUnifiedMessagingEnabled,
    ErrorVoiceMailNotImplemented,
    ErrorValueOutOfRange,
    ErrorVirusDetected,
    ErrorVirusMessageDeleted,
    ErrorWebRequestInInvalidState,
    ErrorWin32InteropError,
    ErrorWorkingHoursSaveFailed,
    ErrorWorkingHoursXmlMalformed,
    ErrorWrongServerVersion,
    ErrorWrongServerVersionDelegate,
    ErrorMissingInformationSharingFolderId,
    ErrorDuplicateSOAPHeader,
    ErrorSharingSynchronizationFailed,
    ErrorSharingNoExternalEwsAvailable,
    ErrorFreeBusyDLLimitReached,
    ErrorInvalidGetSharingFolderRequest,
    ErrorNotAllowedExternalSharingByPolicy,
    ErrorUserNotAllowedByPolicy,
    ErrorPermissionNotAllowedByPolicy,
    ErrorOrganizationNotFederated,
    ErrorMailboxFailover,
    ErrorInvalidExternalSharingInitiator,
    ErrorMessageTrackingPermanentError,
    ErrorMessageTrackingTransientError,
    ErrorMessageTrackingNoSuchDomain,
    ErrorUserWithoutFederatedProxyAddress,
    ErrorInvalidOrganizationRelationshipForFreeBusy,
    ErrorInvalidFederatedOrganizationId,
    ErrorInvalidExternalSharingSubscriber,
    ErrorInvalidSharingData,
    ErrorInvalidSharingMessage,
    ErrorNotSupportedSharingMessage,
    ErrorApplyConversationActionFailed,
    ErrorInboxRulesValidationError,
    ErrorOutlookRuleBlobExists,
    ErrorRulesOverQuota,
    ErrorNewEventStreamConnectionOpened,
    ErrorMissedNotificationEvents,
    ErrorDuplicateLegacyDistinguishedName,
    ErrorInvalidClientAccessTokenRequest,
    ErrorUnauthorizedClientAccessTokenRequest,
    ErrorNoSpeechDetected,
    ErrorUMServerUnavailable,
    ErrorRecipientNotFound,
    ErrorRecognizerNotInstalled,
    ErrorSpeechGrammarError,
    ErrorInvalidManagementRoleHeader,
    ErrorLocationServicesDisabled,
    ErrorLocationServicesRequestTimedOut,
    ErrorLocationServicesRequestFailed,
    ErrorLocationServicesInvalidRequest,
    ErrorWeatherServiceDisabled,
    ErrorMailboxScopeNotAllowedWithoutQueryString,
    ErrorArchiveMailboxSearchFailed,
    ErrorGetRemoteArchiveFolderFailed,
    ErrorFindRemoteArchiveFolderFailed,
    ErrorGetRemoteArchiveItemFailed,
    ErrorExportRemoteArchiveItemsFailed,
    ErrorInvalidPhotoSize,
    ErrorSearchQueryHasTooManyKeywords,
    ErrorSearchTooManyMailboxes,
    ErrorInvalidRetentionTagNone,
    ErrorDiscoverySearchesDisabled,
    ErrorCalendarSeekToConditionNotSupported,
    ErrorCalendarIsGroupMailboxForAccept,
    ErrorCalendarIsGroupMailboxForDecline,
    ErrorCalendarIsGroupMailboxForTentative,
    ErrorCalendarIsGroupMailboxForSuppressReadReceipt,
    ErrorOrganizationAccessBlocked,
    ErrorInvalidLicense,
    ErrorMessagePerFolderCountReceiveQuotaExceeded,
    ErrorInvalidBulkActionType,
    ErrorInvalidKeepNCount,
    ErrorInvalidKeepNType,
    ErrorNoOAuthServerAvailableForRequest,
    ErrorInstantSearchSessionExpired,
    ErrorInstantSearchTimeout,
    ErrorInstantSearchFailed,
    ErrorUnsupportedUserForExecuteSearch,
    ErrorDuplicateExtendedKeywordDefinition,
    ErrorMissingExchangePrincipal,
    ErrorUnexpectedUnifiedGroupsCount,
    ErrorParsingXMLResponse,
    ErrorInvalidFederationOrganizationIdentifier,
    ErrorInvalidSweepRule,
    ErrorInvalidSweepRuleOperationType,
    ErrorTargetDomainNotSupported,
    ErrorInvalidInternetWebProxyOnLocalServer,
    ErrorNoSenderRestrictionsSettingsFoundInRequest,
    ErrorDuplicateSenderRestrictionsInputFound,
    ErrorSenderRestrictionsUpdateFailed,
    ErrorMessageSubmissionBlocked,
    ErrorExceededMessageLimit,
    ErrorExceededMaxRecipientLimitBlock,
    ErrorAccountSuspend,
    ErrorExceededMaxRecipientLimit,
    ErrorMessageBlocked,
    ErrorAccountSuspendShowTierUpgrade,
    ErrorExceededMessageLimitShowTierUpgrade,
    ErrorExceededMaxRecipientLimitShowTierUpgrade,
    ErrorInvalidLongitude,
    ErrorInvalidLatitude,
    ErrorProxySoapException,
    ErrorUnifiedGroupAlreadyExists,
    ErrorUnifiedGroupAadAuthorizationRequestDenied,
    ErrorUnifiedGroupCreationDisabled,
    ErrorMarketPlaceExtensionAlreadyInstalledForOrg,
    ErrorExtensionAlreadyInstalledForOrg,
    ErrorNewerExtensionAlreadyInstalled,
    ErrorNewerMarketPlaceExtensionAlreadyInstalled,
    ErrorInvalidExtensionId,
    ErrorCannotUninstallProvidedExtensions,
    ErrorNoRbacPermissionToInstallMarketPlaceExtensions,
    ErrorNoRbacPermissionToInstallReadWriteMailboxExtensions,
    ErrorInvalidReportMessageActionType,
    ErrorCannotDownloadExtensionManifest,
    ErrorCalendarForwardActionNotAllowed,
    ErrorUnifiedGroupAliasNamingPolicy,
    ErrorSubscriptionsDisabledForGroup,
    ErrorCannotFindFileAttachment,
    ErrorInvalidValueForFilter,
    ErrorQuotaExceededOnDelete,
    ErrorAccessDeniedDueToCompliance,
    ErrorRecoverableItemsAccessDenied,
}

impl std::fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ResponseCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ResponseCode::parse(s))
    }
}

#[allow(clippy::derivable_impls)] // the enum is macro-generated
impl Default for ResponseCode {
    fn default() -> Self {
        ResponseCode::NoError
    }
}

impl XmlValue for ResponseCode {
    fn to_xml_value(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
    fn from_xml_value(text: &str) -> Result<Self, String> {
        Ok(ResponseCode::parse(text))
    }
}

impl ResponseCode {
    /// Whether the code is in the schema (not [`ResponseCode::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, ResponseCode::Other(_))
    }

    /// The server asks the client to slow down (`ErrorServerBusy`, `ErrorTooManyObjectsOpened`).
    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            ResponseCode::ErrorServerBusy | ResponseCode::ErrorTooManyObjectsOpened
        )
    }

    /// Trying again later may succeed (throttling, time-outs, a store that is temporarily
    /// unavailable, a mailbox being moved).
    pub fn is_transient(&self) -> bool {
        self.is_throttled()
            || matches!(
                self,
                ResponseCode::ErrorTimeoutExpired
                    | ResponseCode::ErrorBatchProcessingStopped
                    | ResponseCode::ErrorConnectionFailed
                    | ResponseCode::ErrorMailboxStoreUnavailable
                    | ResponseCode::ErrorMailboxMoveInProgress
                    | ResponseCode::ErrorInternalServerTransientError
                    | ResponseCode::ErrorProxyRequestProcessingFailed
                    | ResponseCode::ErrorExceededConnectionCount
            )
    }

    /// The object named in the request does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ResponseCode::ErrorItemNotFound
                | ResponseCode::ErrorFolderNotFound
                | ResponseCode::ErrorCalendarOccurrenceIsDeletedFromRecurrence
                | ResponseCode::ErrorNonExistentMailbox
                | ResponseCode::ErrorCannotFindFileAttachment
        )
    }

    /// The item changed meanwhile or already exists (stale change key, irresolvable
    /// conflict, duplicate folder name).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            ResponseCode::ErrorIrresolvableConflict
                | ResponseCode::ErrorStaleObject
                | ResponseCode::ErrorChangeKeyRequiredForWriteOperations
                | ResponseCode::ErrorFolderExists
                | ResponseCode::ErrorDuplicateInputFolderNames
        )
    }

    /// The caller is not allowed to do this (access denied, impersonation refused).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ResponseCode::ErrorAccessDenied
                | ResponseCode::ErrorImpersonateUserDenied
                | ResponseCode::ErrorImpersonationDenied
                | ResponseCode::ErrorImpersonationFailed
        )
    }
}

/// One entry of `m:MessageXml`: a `t:Value Name="..."` (such as `BackOffMilliseconds`) or
/// another element with text (such as `t:LineNumber` of a schema violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageXmlValue {
    /// The element's local name (`Value`, `LineNumber`, `Violation`, ...).
    pub element: String,
    /// The `Name` attribute of a `t:Value`.
    pub name: Option<String>,
    /// The text.
    pub value: String,
}

impl MessageXmlValue {
    /// A `t:Value Name="name"` entry.
    pub fn named(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            element: "Value".to_owned(),
            name: Some(name.into()),
            value: value.into(),
        }
    }

    /// The key of the entry: the `Name` attribute, else the element name.
    pub fn key(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.element)
    }
}

/// The contents of a `MessageXml` element, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageXml(pub Vec<MessageXmlValue>);

impl MessageXml {
    /// The value of the entry with this key (`Name` attribute or element name).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|v| v.key() == key)
            .map(|v| v.value.as_str())
    }

    /// `BackOffMilliseconds`, as sent with `ErrorServerBusy`.
    pub fn back_off(&self) -> Option<Duration> {
        self.get("BackOffMilliseconds")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis)
    }

    /// The wrapped code of an `ErrorInternalServerError` (`InnerErrorResponseCode`).
    pub fn inner_code(&self) -> Option<ResponseCode> {
        self.get("InnerErrorResponseCode").map(ResponseCode::parse)
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl WriteXml for MessageXml {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name).children(|w| {
            for v in &self.0 {
                w.start(Ns::Types, &v.element)
                    .attr_opt("Name", v.name.as_ref())
                    .text(&v.value);
            }
        });
    }
}

impl ReadXml for MessageXml {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Vec::new();
        while let Some(child) = r.next_child(start)? {
            let element = child.local().to_owned();
            let name = child.attr("Name")?.map(Cow::into_owned);
            let value = r.text(&child)?.into_owned();
            out.push(MessageXmlValue {
                element,
                name,
                value,
            });
        }
        Ok(MessageXml(out))
    }
}

/// The common part of every response message (`m:ResponseMessageType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseStatus {
    /// Success, Warning or Error.
    pub class: ResponseClass,
    /// The code (`NoError` when the server omitted it).
    pub code: ResponseCode,
    /// The server's explanation.
    pub message_text: Option<String>,
    /// `DescriptiveLinkKey` (usually 0).
    pub descriptive_link_key: Option<i32>,
    /// Additional data (`BackOffMilliseconds`, schema violation position, ...).
    pub message_xml: MessageXml,
}

impl Default for ResponseStatus {
    fn default() -> Self {
        Self::success()
    }
}

impl ResponseStatus {
    /// `Success` / `NoError`.
    pub fn success() -> Self {
        Self {
            class: ResponseClass::Success,
            code: ResponseCode::NoError,
            message_text: None,
            descriptive_link_key: None,
            message_xml: MessageXml::default(),
        }
    }

    /// An `Error` with a code and message text.
    pub fn error(code: ResponseCode, message_text: impl Into<String>) -> Self {
        Self {
            class: ResponseClass::Error,
            code,
            message_text: Some(message_text.into()),
            descriptive_link_key: Some(0),
            message_xml: MessageXml::default(),
        }
    }

    /// A `Warning` with a code and message text.
    pub fn warning(code: ResponseCode, message_text: impl Into<String>) -> Self {
        Self {
            class: ResponseClass::Warning,
            ..Self::error(code, message_text)
        }
    }

    /// An `ErrorServerBusy` error asking the caller to wait `back_off`
    /// (`MessageXml/Value[@Name="BackOffMilliseconds"]`), as sent inside an HTTP 200 answer.
    pub fn server_busy(back_off: Duration) -> Self {
        let mut status = Self::error(
            ResponseCode::ErrorServerBusy,
            "The server cannot service this request right now. Try again later.",
        );
        status.message_xml = MessageXml(vec![MessageXmlValue::named(
            "BackOffMilliseconds",
            back_off.as_millis().to_string(),
        )]);
        status
    }

    /// Whether the class is `Error`.
    pub fn is_error(&self) -> bool {
        self.class == ResponseClass::Error
    }

    /// The code that matters: the inner code of an `ErrorInternalServerError` that wraps
    /// another (`InnerErrorResponseCode`), else [`ResponseStatus::code`].
    pub fn effective_code(&self) -> ResponseCode {
        if self.code == ResponseCode::ErrorInternalServerError
            && let Some(inner) = self.message_xml.inner_code()
        {
            return inner;
        }
        self.code.clone()
    }

    /// The `BackOffMilliseconds` the server asked for, if this is a throttling error.
    pub fn back_off(&self) -> Option<Duration> {
        if self.is_error() && self.effective_code().is_throttled() {
            self.message_xml.back_off()
        } else {
            None
        }
    }

    /// Writes the `ResponseClass` attribute, then (through `body`) the common elements,
    /// followed by whatever the operation adds.
    fn write_common(&self, w: &mut XmlWriter) {
        w.opt_value(Ns::Messages, "MessageText", self.message_text.as_ref());
        w.value(Ns::Messages, "ResponseCode", &self.code);
        w.opt_value(
            Ns::Messages,
            "DescriptiveLinkKey",
            self.descriptive_link_key.as_ref(),
        );
        if !self.message_xml.is_empty() {
            w.write(Ns::Messages, "MessageXml", &self.message_xml);
        }
    }

    /// Reads a common child element into `self`; `false` if `child` is not one.
    fn read_common<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.ns() != Ns::Messages {
            return Ok(false);
        }
        match child.local() {
            "MessageText" => self.message_text = Some(r.text(child)?.into_owned()),
            "ResponseCode" => self.code = r.value(child)?,
            "DescriptiveLinkKey" => {
                self.descriptive_link_key = Some(r.value(child)?);
            }
            "MessageXml" => self.message_xml = MessageXml::read_xml(r, child)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The operation-specific content of a response message: the elements that follow the
/// common ones (`m:Items`, `m:Folders`, `m:SyncState`, ...).
pub trait ResponseContent: Default {
    /// Writes the operation-specific elements.
    fn write_content(&self, w: &mut XmlWriter);
    /// Reads one operation-specific child element; returns `false` (leaving it unread) if
    /// `child` is not one, and the caller skips it.
    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError>;
}

/// Response messages without operation-specific content (`SendItem`, `DeleteItem`).
impl ResponseContent for () {
    fn write_content(&self, _w: &mut XmlWriter) {}
    fn read_child<'a>(
        &mut self,
        _r: &mut XmlReader<'a>,
        _child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        Ok(false)
    }
}

/// The result for one requested item: the status and, on success or warning, the content.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseMessage<T> {
    /// Class, code, message text and message XML.
    pub status: ResponseStatus,
    /// The operation-specific content (empty/default on errors).
    pub content: T,
}

/// A failed per-item result: the status of an `Error` response message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .0.code, .0.message_text.as_deref().unwrap_or(""))]
pub struct ResponseError(pub ResponseStatus);

impl ResponseError {
    /// The (effective) response code.
    pub fn code(&self) -> ResponseCode {
        self.0.effective_code()
    }
}

impl<T> ResponseMessage<T> {
    /// A successful message.
    pub fn success(content: T) -> Self {
        Self {
            status: ResponseStatus::success(),
            content,
        }
    }

    /// The class.
    pub fn class(&self) -> ResponseClass {
        self.status.class
    }

    /// The code.
    pub fn code(&self) -> &ResponseCode {
        &self.status.code
    }

    /// Whether the class is `Error`.
    pub fn is_error(&self) -> bool {
        self.status.is_error()
    }

    /// The content on Success or Warning, the status as error on Error.
    pub fn into_result(self) -> Result<T, ResponseError> {
        if self.status.is_error() {
            Err(ResponseError(self.status))
        } else {
            Ok(self.content)
        }
    }
}

impl<T: Default> ResponseMessage<T> {
    /// An error message without content.
    pub fn error(code: ResponseCode, message_text: impl Into<String>) -> Self {
        Self {
            status: ResponseStatus::error(code, message_text),
            content: T::default(),
        }
    }
}

impl<T: ResponseContent> WriteXml for ResponseMessage<T> {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("ResponseClass", &self.status.class)
            .children(|w| {
                self.status.write_common(w);
                self.content.write_content(w);
            });
    }
}

impl<T: ResponseContent> ReadXml for ResponseMessage<T> {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut status = ResponseStatus {
            class: start.required_attr_value(r, "ResponseClass")?,
            ..ResponseStatus::success()
        };
        let mut content = T::default();
        while let Some(child) = r.next_child(start)? {
            if status.read_common(r, &child)? {
                continue;
            }
            if !content.read_child(r, &child)? {
                r.skip(&child)?;
            }
        }
        Ok(Self { status, content })
    }
}

/// The body of most operation responses (`m:{Operation}Response`): one
/// `m:{Operation}ResponseMessage` per requested item, in request order.
///
/// Written as `ns:name` containing `m:ResponseMessages` whose children are named
/// `{name}Message`, so `GetItemResponse` holds `GetItemResponseMessage`s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseMessages<T> {
    /// The per-item results.
    pub messages: Vec<ResponseMessage<T>>,
}

impl<T> ResponseMessages<T> {
    /// Wraps a list of messages.
    pub fn new(messages: Vec<ResponseMessage<T>>) -> Self {
        Self { messages }
    }

    /// The statuses of all messages, in order.
    pub fn statuses(&self) -> impl Iterator<Item = &ResponseStatus> {
        self.messages.iter().map(|m| &m.status)
    }

    /// The first message, consumed as a result (for single-item requests); an error when
    /// the server sent none.
    pub fn into_single(self) -> Result<T, ResponseError> {
        match self.messages.into_iter().next() {
            Some(m) => m.into_result(),
            None => Err(ResponseError(ResponseStatus::error(
                ResponseCode::ErrorInternalServerError,
                "the response has no response message",
            ))),
        }
    }

    /// The per-item results in request order.
    pub fn into_results(self) -> Vec<Result<T, ResponseError>> {
        self.messages
            .into_iter()
            .map(ResponseMessage::into_result)
            .collect()
    }
}

impl<T: ResponseContent> WriteXml for ResponseMessages<T> {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let message_name = format!("{name}Message");
        w.start(ns, name).children(|w| {
            w.element(Ns::Messages, "ResponseMessages", |w| {
                for m in &self.messages {
                    m.write_xml(w, Ns::Messages, &message_name);
                }
            });
        });
    }
}

impl<T: ResponseContent> ReadXml for ResponseMessages<T> {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut messages = Vec::new();
        let mut seen = false;
        while let Some(child) = r.next_child(start)? {
            if child.is(Ns::Messages, "ResponseMessages") {
                seen = true;
                while let Some(m) = r.next_child(&child)? {
                    // Any m:*ResponseMessage: some servers name them differently, and the
                    // schema's choice is keyed by operation.
                    if m.ns() == Ns::Messages && m.local().ends_with("ResponseMessage") {
                        messages.push(ResponseMessage::read_xml(r, &m)?);
                    } else {
                        r.skip(&m)?;
                    }
                }
            } else {
                r.skip(&child)?;
            }
        }
        if !seen {
            return Err(r.missing(start, "ResponseMessages"));
        }
        Ok(Self { messages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_code_round_trips_and_unknown_is_kept() {
        assert!(ResponseCode::ALL.len() > 500);
        for code in ResponseCode::ALL {
            assert_eq!(&ResponseCode::parse(code.as_str()), code);
            assert!(code.is_known());
        }
        let other = ResponseCode::parse("ErrorFromTheFuture");
        assert_eq!(other, ResponseCode::Other("ErrorFromTheFuture".into()));
        assert_eq!(other.as_str(), "ErrorFromTheFuture");
    }

    #[test]
    fn wrapped_server_busy_is_seen_through_internal_server_error() {
        let mut status = ResponseStatus::error(ResponseCode::ErrorInternalServerError, "x");
        status.message_xml = MessageXml(vec![
            MessageXmlValue::named("InnerErrorResponseCode", "ErrorServerBusy"),
            MessageXmlValue::named("BackOffMilliseconds", "1500"),
        ]);
        assert_eq!(status.effective_code(), ResponseCode::ErrorServerBusy);
        assert_eq!(status.back_off(), Some(Duration::from_millis(1500)));
        assert_eq!(ResponseStatus::success().back_off(), None);
        let busy = ResponseStatus::server_busy(Duration::from_secs(2));
        assert_eq!(busy.back_off(), Some(Duration::from_secs(2)));
        assert!(busy.is_error() && busy.code.is_throttled());
    }

    #[test]
    fn response_messages_round_trip() {
        let mut busy = ResponseMessage::<()>::error(ResponseCode::ErrorServerBusy, "busy");
        busy.status.message_xml =
            MessageXml(vec![MessageXmlValue::named("BackOffMilliseconds", "250")]);
        let value = ResponseMessages::new(vec![
            ResponseMessage::success(()),
            busy,
            ResponseMessage {
                status: ResponseStatus::warning(ResponseCode::Other("ErrorNew".into()), "new code"),
                content: (),
            },
        ]);
        let mut w = XmlWriter::new();
        w.start_root(Ns::Messages, "SendItemResponse").open();
        w.end(Ns::Messages, "SendItemResponse");
        let mut w = XmlWriter::new();
        value.write_xml(&mut w, Ns::Messages, "SendItemResponse");
        let text = w.into_string();
        let doc = text.replacen(
            "<m:SendItemResponse>",
            &format!(
                "<m:SendItemResponse xmlns:m=\"{}\" xmlns:t=\"{}\">",
                crate::xml::NS_MESSAGES,
                crate::xml::NS_TYPES
            ),
            1,
        );
        assert!(doc.contains("<m:SendItemResponseMessage ResponseClass=\"Error\">"));
        let mut r = XmlReader::new(doc.as_bytes());
        let root = r.root().unwrap();
        let back = ResponseMessages::<()>::read_xml(&mut r, &root).unwrap();
        assert_eq!(back, value);
        assert_eq!(
            back.messages[1].status.back_off(),
            Some(Duration::from_millis(250))
        );
    }
}
